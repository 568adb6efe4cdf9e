#!/usr/bin/env bash
# Real ZooKeeper clients nobody here wrote — kazoo (PyPI), cli_mt (C, Debian zookeeper-bin),
# zkCli.sh (Java, Debian zookeeper) — and the master_election example against the `ensemble`
# of any adapter's binary, plus four-letter words.
# Usage: adapter-tokio/tests/clients/run.sh path/to/server-binary (conclave, conclave-smol, conclave-mio)
set -euo pipefail
bin="${1:?path to the conclave binary}"
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d)"
base=12181
hosts="127.0.0.1:$base,127.0.0.1:$((base+1)),127.0.0.1:$((base+2))"
"$bin" ensemble --nodes 3 --dir "$dir" --base-port "$base" > "$dir/ensemble.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
for _ in $(seq 1 300); do grep -q "leads" "$dir/ensemble.log" && break; sleep 0.1; done
grep -q "leads" "$dir/ensemble.log" || { echo "ensemble did not elect a leader"; cat "$dir/ensemble.log"; exit 1; }

skipped=()
if python3 -c "import kazoo" 2>/dev/null; then
  echo "--- kazoo"
  timeout 120 python3 "$here/kazoo_check.py" "$hosts"
else
  echo "--- kazoo not installed (pip install kazoo): its check SKIPPED"
  skipped+=(kazoo)
fi

echo "--- four-letter words"
# "leads" means the leader is established; a follower may still be syncing: ask until it
# serves (at most 10 s).
for _ in $(seq 1 100); do
  exec 3<>"/dev/tcp/127.0.0.1/$base"; printf srvr >&3; srvr="$(timeout 5 cat <&3)"; exec 3<&-
  grep -q "^Mode: " <<< "$srvr" && break
  sleep 0.1
done
grep -q "^Mode: " <<< "$srvr" || { echo "srvr answered: $srvr"; exit 1; }
grep -E "^(Mode|Zxid|Node count)" <<< "$srvr"

if [ -x /usr/lib/zookeeper/bin/cli_mt ]; then
  echo "--- cli_mt"
  out="$( (sleep 1; echo "create /climt"; sleep 1; echo "ls /"; sleep 1; echo "delete /climt"; sleep 1; echo quit) \
    | timeout 30 /usr/lib/zookeeper/bin/cli_mt "127.0.0.1:$((base+1))" 2>&1)"
  grep -q "climt" <<< "$out" || { echo "$out"; exit 1; }
  grep -E "rc = " <<< "$out" | sed -n 1,5p
else
  echo "--- cli_mt not installed (apt-get install zookeeper-bin): its check SKIPPED"
  skipped+=(cli_mt)
fi

if [ -x /usr/share/zookeeper/bin/zkCli.sh ]; then
  echo "--- zkCli.sh"
  zk=/usr/share/zookeeper/bin/zkCli.sh
  timeout 60 "$zk" -server "127.0.0.1:$((base+2))" create /zkcli hello > "$dir/zk1.log" 2>&1
  timeout 60 "$zk" -server "127.0.0.1:$base" get /zkcli > "$dir/zk2.log" 2>&1
  grep -q "^hello" "$dir/zk2.log" || { cat "$dir/zk1.log" "$dir/zk2.log"; exit 1; }
  echo "zkCli.sh: create on one member, get on another: hello"
else
  echo "--- zkCli.sh not installed (apt-get install zookeeper): its check SKIPPED"
  skipped+=(zkCli.sh)
fi
# The master-election example (zookeeper-client crate) against this ensemble; it is built
# beside the server binary by `cargo build --release --workspace --examples`.
example="$(dirname "$bin")/examples/master_election"
if [ -x "$example" ]; then
  echo "--- master_election example"
  timeout 90 "$example" "$hosts" 2>&1 | tail -3
else
  echo "--- $example not built (cargo build --release -p conclave-tokio --examples): its check SKIPPED"
  skipped+=(master_election)
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo "real clients: OK, but SKIPPED: ${skipped[*]}"
else
  echo "real clients: OK (kazoo, cli_mt, zkCli.sh, the master_election example)"
fi
