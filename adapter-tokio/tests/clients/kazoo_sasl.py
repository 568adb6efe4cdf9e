#!/usr/bin/env python3
"""kazoo with SASL DIGEST-MD5 (issue 15; pure-sasl underneath) against Conclave.
Usage: kazoo_sasl.py PLAIN_HOSTS TLS_HOSTS CA CERT KEY
bob/secret (from the members' JAAS file) authenticates on the plain ports and over TLS, owns
a `sasl:bob` node nobody else may read; a wrong password ends in AUTH_FAILED with the
connection closed, as ZooKeeper 3.8.0 does (checked by hand with the same kazoo calls); a flood of wrong passwords leaves a good session working. Exit 0 on success."""
import sys, time, threading, logging
from kazoo.client import KazooClient
from kazoo.protocol.states import KeeperState
from kazoo.security import ACL, Id
from kazoo.exceptions import NoAuthError

plain, tls_hosts, ca, cert, key = sys.argv[1:6]
def client(hosts, password, tls=False, **kw):
    extra = dict(use_ssl=True, ca=ca, certfile=cert, keyfile=key, verify_certs=True) if tls else {}
    return KazooClient(hosts=hosts, timeout=10, sasl_options={
        "mechanism": "DIGEST-MD5", "username": "bob", "password": password}, **extra, **kw)

bob = client(plain, "secret")
bob.start(timeout=20)
if bob.exists("/bobs"):
    bob.delete("/bobs")
bob.create("/bobs", b"bob only", acl=[ACL(31, Id("sasl", "bob"))])
assert bob.get("/bobs")[0] == b"bob only"
anon = KazooClient(hosts=plain, timeout=10)
anon.start(timeout=20)
try:
    anon.get("/bobs")
    sys.exit("a session without SASL read bob's node")
except NoAuthError:
    pass
# Over TLS, with SASL on top.
secure = client(tls_hosts, "secret", tls=True)
secure.start(timeout=20)
secure.sync("/bobs")
assert secure.get("/bobs")[0] == b"bob only"
secure.stop()

# kazoo reports the server's AUTHFAILED as a log line ("AUTH_FAILED closing") and then
# loses the connection for good (state LOST, no retry): both are looked for.
auth_failed = []
class Seen(logging.Handler):
    def emit(self, record):
        if "AUTH_FAILED" in record.getMessage():
            auth_failed.append(record)
logging.getLogger("kazoo").addHandler(Seen())

def refused(hosts):
    bad = client(hosts, "wrong", connection_retry={"max_tries": 1, "delay": 0.1})
    before = len(auth_failed)
    try:
        try:
            bad.start(timeout=5)
        except Exception:
            pass
        for _ in range(100):
            if len(auth_failed) > before and bad.state == "LOST":
                return True
            time.sleep(0.05)
        return False
    finally:
        bad.stop()
        bad.close()

assert refused(plain.split(",")[0]), "a wrong password was not refused with AUTH_FAILED"
# A flood of wrong passwords from 4 threads; the good session and a new one still work.
results = []
threads = [threading.Thread(target=lambda: results.extend(refused(plain) for _ in range(10)))
           for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join(120)
assert len(results) == 40 and all(results), results
assert bob.get("/bobs")[0] == b"bob only"
again = client(plain, "secret")
again.start(timeout=20)
assert again.get("/bobs")[0] == b"bob only"
again.stop()
bob.delete("/bobs")
bob.stop(); anon.stop()
print("KAZOO SASL OK")
