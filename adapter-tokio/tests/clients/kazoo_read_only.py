"""kazoo with read_only=True against a member cut off from its quorum (readonlymode.enabled).

Usage: kazoo_read_only.py HOST:PORT HEALED_FLAG_FILE
Reads from the read-only member and gets NotReadOnlyCallError on a write; prints "RO OK";
waits (at most 60 s) for the test to heal the partition (the flag file appears), then for
kazoo to be handed back to a read-write server (it probes with `isro`), and writes.
Exit status 0 only if all of that happened.
"""
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.protocol.states import KeeperState

host, flag = sys.argv[1], sys.argv[2]
zk = KazooClient(hosts=host, read_only=True, timeout=10.0)
zk.start(timeout=30)
if zk.client_state != KeeperState.CONNECTED_RO:
    sys.exit("expected a read-only session, got %s" % zk.client_state)
data, stat = zk.get("/p")
print("read-only read of /p: %r (version %d)" % (data, stat.version), flush=True)
try:
    zk.create("/ro-write", b"x")
    sys.exit("a write on the read-only member succeeded")
except NotReadOnlyCallError:
    print("write refused: NotReadOnlyCallError", flush=True)
print("RO OK", flush=True)

deadline = time.monotonic() + 60
while not os.path.exists(flag):
    if time.monotonic() > deadline:
        sys.exit("the test never healed the partition")
    time.sleep(0.1)
while zk.client_state != KeeperState.CONNECTED:
    if time.monotonic() > deadline:
        sys.exit("kazoo was not handed back to a read-write server: %s" % zk.client_state)
    time.sleep(0.1)
deadline = time.monotonic() + 30
while True:
    try:
        zk.create("/rw-write", b"y")
        break
    except Exception as e:  # the hand-over may still be settling: retry, bounded
        if time.monotonic() > deadline:
            sys.exit("no write after the hand-back: %r" % e)
        time.sleep(0.2)
print("RW OK: read-write again after healing, write acknowledged", flush=True)
zk.stop()
