"""kazoo reconfigures a running ensemble (reconfigEnabled=true, super user super:secret).

Usage: kazoo_reconfig.py MEMBERS HOST4 HOST5 SERVER4 SERVER5
MEMBERS is the three members' connect string; HOST4/HOST5 are the client addresses of two
running servers that are not members yet; SERVER4/SERVER5 are their `server.N=...` lines
(4 an observer, 5 a participant). Adds 4, then 5 (with -from), reads the new
/zookeeper/config through 4, checks ZooKeeper's error codes for bad reconfigs, removes both,
and writes. Prints "KAZOO RECONFIG OK"; exit status 0 only if all of that happened.
"""
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadArgumentsError,
    BadVersionError,
    MarshallingError,
    NewConfigNoQuorumError,
    NoAuthError,
)

members, host4, host5, server4, server5 = sys.argv[1:6]


def client(hosts, auth=True):
    zk = KazooClient(
        hosts=hosts,
        timeout=10.0,
        auth_data=[("digest", "super:secret")] if auth else None,
    )
    zk.start(timeout=30)
    return zk


def version(config):
    return int(config.rsplit("version=", 1)[1], 16)


def expect(error, **kwargs):
    try:
        root.reconfig(**kwargs)
    except error:
        print("refused as expected: %s %r" % (error.__name__, kwargs), flush=True)
        return
    sys.exit("reconfig %r was not refused with %s" % (kwargs, error.__name__))


root = client(members)
data, stat = root.get("/zookeeper/config")
first = data.decode()
print("initial /zookeeper/config:\n%s" % first, flush=True)
if first.count("server.") != 3 or not first.endswith("version=0"):
    sys.exit("unexpected initial config: %r" % first)

changed = threading.Event()
root.get("/zookeeper/config", watch=lambda event: changed.set())
data, stat = root.reconfig(joining=server4, leaving=None, new_members=None)
with4 = data.decode()
if "server.4=" not in with4 or ":observer;" not in with4:
    sys.exit("server 4 not added as an observer: %r" % with4)
if not changed.wait(10):
    sys.exit("the /zookeeper/config watch did not fire")
print("added server 4 (observer), version %x" % version(with4), flush=True)

data, stat = root.reconfig(
    joining=server5, leaving=None, new_members=None, from_config=version(with4)
)
with5 = data.decode()
if "server.5=" not in with5 or version(with5) <= version(with4):
    sys.exit("server 5 not added: %r" % with5)
print("added server 5 (participant), version %x" % version(with5), flush=True)

# The new member serves, and sees the new membership.
via4 = client(host4, auth=False)
via4.sync("/zookeeper/config")
seen, _ = via4.get("/zookeeper/config")
if seen.decode() != with5:
    sys.exit("server 4 reads %r, expected %r" % (seen.decode(), with5))
via4.create("/via-4", b"x")
via4.stop()
print("server 4 serves and reads the new config", flush=True)

expect(BadVersionError, joining=None, leaving="5", new_members=None, from_config=version(with4))
expect(BadArgumentsError, joining="server.6=garbage", leaving=None, new_members=None)
expect(MarshallingError, joining=None, leaving="abc", new_members=None)
expect(
    NewConfigNoQuorumError,
    joining="server.7=127.0.0.1:1:2:participant;3,server.8=127.0.0.1:4:5:participant;6,"
    "server.9=127.0.0.1:7:8:participant;9,server.10=127.0.0.1:10:11:participant;12",
    leaving=None,
    new_members=None,
)
anyone = client(members, auth=False)
try:
    anyone.reconfig(joining=None, leaving="4", new_members=None)
    sys.exit("a reconfig without the super user succeeded")
except NoAuthError:
    print("refused as expected: NoAuthError (not the super user)", flush=True)
anyone.stop()

data, _ = root.reconfig(joining=None, leaving="4,5", new_members=None)
after = data.decode()
if "server.4=" in after or "server.5=" in after:
    sys.exit("servers 4 and 5 not removed: %r" % after)
root.create("/after-reconfig", b"y")
print("removed 4 and 5, version %x; writes go on" % version(after), flush=True)
root.stop()
print("KAZOO RECONFIG OK", flush=True)
