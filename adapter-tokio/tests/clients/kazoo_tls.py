#!/usr/bin/env python3
"""kazoo over TLS (issue 15) against Conclave's secure client ports.
Usage: kazoo_tls.py HOSTS CA CERT KEY STRANGER_CERT STRANGER_KEY
Writes and reads with a certificate the server's trust store vouches for; a certificate from
another CA never gets a session. Exit 0 on success."""
import sys
from kazoo.client import KazooClient
from kazoo.handlers.threading import KazooTimeoutError

hosts, ca, cert, key, stranger_cert, stranger_key = sys.argv[1:7]
zk = KazooClient(hosts=hosts, use_ssl=True, ca=ca, certfile=cert, keyfile=key,
                 verify_certs=True, timeout=10)
zk.start(timeout=20)
zk.ensure_path("/tls")
zk.create("/tls/node", b"over tls")
assert zk.get("/tls/node")[0] == b"over tls"
# Every member's secure port serves the same data.
for host in hosts.split(","):
    one = KazooClient(hosts=host, use_ssl=True, ca=ca, certfile=cert, keyfile=key,
                      verify_certs=True, timeout=10)
    one.start(timeout=20)
    one.sync("/tls/node")
    assert one.get("/tls/node")[0] == b"over tls", host
    one.stop()
zk.stop()
bad = KazooClient(hosts=hosts.split(",")[0], use_ssl=True, ca=ca, certfile=stranger_cert,
                  keyfile=stranger_key, verify_certs=True, timeout=3,
                  connection_retry={"max_tries": 2, "delay": 0.1})
try:
    bad.start(timeout=4)
    sys.exit("a client certificate from another CA got a session")
except KazooTimeoutError:
    pass
finally:
    bad.stop()
print("KAZOO TLS OK")
