#!/usr/bin/env python3
"""kazoo (PyPI), an unmodified ZooKeeper client, against a running Conclave ensemble:
CRUD, versions, sequential nodes, a one-shot watch, a transaction, and the master-election
recipe (ephemeral /master, watchers race again when it vanishes). Exit 0 on success."""
import time, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError, BadVersionError
hosts = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183"
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=15)
print("server version hint:", zk.server_version())
zk.ensure_path("/kazoo/test")
zk.create("/kazoo/test/node", b"hello")
data, stat = zk.get("/kazoo/test/node")
assert data == b"hello", data
zk.set("/kazoo/test/node", b"v2", version=stat.version)
try:
    zk.set("/kazoo/test/node", b"v3", version=0)
    sys.exit("expected BadVersion")
except BadVersionError:
    pass
seqs = [zk.create("/kazoo/test/seq-", b"", sequence=True) for _ in range(3)]
print("sequential:", seqs)
events = []
zk.get("/kazoo/test/node", watch=lambda e: events.append(e))
zk.set("/kazoo/test/node", b"v3")
for _ in range(50):
    if events: break
    time.sleep(0.1)
print("watch events:", events)
assert len(events) == 1
t = zk.transaction()
t.create("/kazoo/test/t1", b"a")
t.create("/kazoo/test/t2", b"b")
print("transaction:", t.commit())
# master election recipe with two kazoo sessions
workers = [KazooClient(hosts=hosts, timeout=10) for _ in range(3)]
for w in workers: w.start(timeout=15)
winner = None
for i, w in enumerate(workers):
    try:
        w.create("/master", str(i).encode(), ephemeral=True)
        winner = i
    except NodeExistsError:
        pass
print("master:", winner)
took_over = []
def race(i):
    def cb(event):
        try:
            workers[i].create("/master", str(i).encode(), ephemeral=True)
            took_over.append(i)
        except NodeExistsError:
            pass
    return cb
for i, w in enumerate(workers):
    if i != winner:
        w.exists("/master", watch=race(i))
workers[winner].stop()
for _ in range(100):
    if took_over: break
    time.sleep(0.1)
print("new master:", took_over, zk.get("/master")[0])
assert len(took_over) == 1
for w in workers: w.stop()
zk.delete("/kazoo", recursive=True)
zk.stop()
print("KAZOO OK")
