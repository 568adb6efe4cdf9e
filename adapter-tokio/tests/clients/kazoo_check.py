#!/usr/bin/env python3
"""kazoo (PyPI), an unmodified ZooKeeper client, against a running Conclave ensemble:
CRUD, versions, sequential nodes, a one-shot watch, a transaction, ACLs as kazoo's recipes
write them (CREATOR_ALL_ACL, digest, ip with CIDR), and the master-election recipe (ephemeral /master, watchers race again when it vanishes). Exit 0 on success."""
import time, sys
from kazoo.client import KazooClient
from kazoo.exceptions import NodeExistsError, NoNodeError, BadVersionError, NoAuthError
from kazoo.security import ACL, CREATOR_ALL_ACL, Id, make_digest_acl_credential
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
# ACLs (issue 15): CREATOR_ALL_ACL is scheme `auth` with an empty id, which kazoo writes as
# a null string; the node gets the session's digest identity, as in ZooKeeper 3.8.
owner = KazooClient(hosts=hosts, timeout=10, auth_data=[("digest", "bob:secret")])
owner.start(timeout=15)
owner.create("/kazoo/test/mine", b"private", acl=CREATOR_ALL_ACL)
acls, _ = owner.get_acls("/kazoo/test/mine")
expected = make_digest_acl_credential("bob", "secret")
assert [(a.perms, a.id.scheme, a.id.id) for a in acls] == [(31, "digest", expected)], acls
assert owner.get("/kazoo/test/mine")[0] == b"private"
try:
    zk.get("/kazoo/test/mine")
    sys.exit("expected NoAuth for a session without bob's digest")
except NoAuthError:
    pass
zk.add_auth("digest", "bob:secret")
assert zk.get("/kazoo/test/mine")[0] == b"private"
# ip ACLs with CIDR: loopback is inside 127.0.0.0/8 and outside 10.0.0.0/8.
owner.create("/kazoo/test/lo", b"lo", acl=[ACL(1, Id("ip", "127.0.0.0/8"))])
owner.create("/kazoo/test/ten", b"ten", acl=[ACL(1, Id("ip", "10.0.0.0/8")), acls[0]])
anon = KazooClient(hosts=hosts, timeout=10)
anon.start(timeout=15)
assert anon.get("/kazoo/test/lo")[0] == b"lo"
try:
    anon.get("/kazoo/test/ten")
    sys.exit("expected NoAuth outside 10.0.0.0/8")
except NoAuthError:
    pass
anon.stop()
owner.stop()
print("ACLs: CREATOR_ALL_ACL ->", acls[0].id.id)
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
