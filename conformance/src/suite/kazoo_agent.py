"""The suite's kazoo client family (conformance/src/suite/kazoo.rs): one process that holds
any number of kazoo sessions and runs the suite's requests on them, one command per line on
stdin, one answer per line on stdout. Paths and bytes travel hex-encoded ("-" when empty), so
a line is always plain words. Every call is bounded by OP_TIMEOUT seconds.

Commands                                       Answers
  open H HOST:PORT TIMEOUT_MS                    session ID PASSWD TIMEOUT_MS | lost WHY
  resume H HOST:PORT TIMEOUT_MS ID PASSWD        (the same)
  call H create PATH DATA FLAGS                  created PATH | err CODE | lost WHY
  call H delete PATH VERSION                     ok
  call H exists PATH WATCH                       stat | err -101
  call H get PATH WATCH                          data DATA
  call H children PATH                           children NAME,NAME,... ("-": none)
  call H set PATH DATA VERSION                   stat
  call H sync PATH                               ok
  call H multi OP OP ...                         multi R,R,... (R: created:PATH, ok, stat, or a code)
      OP: c:PATH:DATA:FLAGS d:PATH:VERSION k:PATH:VERSION s:PATH:DATA:VERSION
  call H auth SCHEME AUTH                        ok
  call H reconfig JOINING LEAVING NEW FROM       data DATA
  events H WAIT_MS                               events TYPE:STATE:PATH ...
  close H                                        ok     (closeSession)
  drop H                                         ok     (the connection goes, the session stays)
"""

import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, KazooException
from kazoo.protocol.states import ZnodeStat

OP_TIMEOUT = 10.0
EVENT_TYPES = {"CREATED": 1, "DELETED": 2, "CHANGED": 3, "CHILD": 4}
STATES = {"CONNECTED": 3, "CONNECTED_RO": 5}

sessions = {}
events = {}
events_ready = threading.Condition()


def unhex(word):
    return b"" if word == "-" else bytes.fromhex(word)


def text(word):
    return unhex(word).decode()


def hexed(data):
    return data.hex() if data else "-"


def watcher(handle):
    def seen(event):
        with events_ready:
            kind = EVENT_TYPES.get(event.type, 0)
            state = STATES.get(event.state, 3)
            events.setdefault(handle, []).append(
                "%d:%d:%s" % (kind, state, hexed(event.path.encode()))
            )
            events_ready.notify_all()

    return seen


def start(handle, hosts, timeout_ms, client_id=None):
    client = KazooClient(
        hosts=hosts,
        timeout=int(timeout_ms) / 1000.0,
        client_id=client_id,
        connection_retry={"max_tries": 3, "delay": 0.1, "max_delay": 0.5},
    )
    client.start(timeout=OP_TIMEOUT)
    sessions[handle] = client
    session_id, passwd = client.client_id
    negotiated = int(client._session_timeout)
    return "session %d %s %d" % (session_id, hexed(passwd), negotiated)


def code_of(e):
    code = getattr(e, "code", None)
    if isinstance(code, int):
        return code
    return -1


def multi_result(r):
    if isinstance(r, Exception):
        return str(code_of(r))
    if isinstance(r, str):
        return "created:" + hexed(r.encode())
    if isinstance(r, ZnodeStat):
        return "stat"
    return "ok"


def call(client, handle, op, args):
    watch = watcher(handle)
    if op == "create":
        flags = int(args[2])
        path = client.create_async(
            text(args[0]),
            unhex(args[1]),
            ephemeral=bool(flags & 1),
            sequence=bool(flags & 2),
        ).get(timeout=OP_TIMEOUT)
        return "created " + hexed(path.encode())
    if op == "delete":
        client.delete_async(text(args[0]), int(args[1])).get(timeout=OP_TIMEOUT)
        return "ok"
    if op == "exists":
        w = watch if args[1] == "1" else None
        stat = client.exists_async(text(args[0]), watch=w).get(timeout=OP_TIMEOUT)
        return "stat" if stat is not None else "err -101"
    if op == "get":
        w = watch if args[1] == "1" else None
        data, _ = client.get_async(text(args[0]), watch=w).get(timeout=OP_TIMEOUT)
        return "data " + hexed(data)
    if op == "children":
        kids = client.get_children_async(text(args[0])).get(timeout=OP_TIMEOUT)
        return "children " + (",".join(hexed(k.encode()) for k in kids) or "-")
    if op == "set":
        client.set_async(text(args[0]), unhex(args[1]), int(args[2])).get(
            timeout=OP_TIMEOUT
        )
        return "stat"
    if op == "sync":
        client.sync_async(text(args[0])).get(timeout=OP_TIMEOUT)
        return "ok"
    if op == "multi":
        t = client.transaction()
        for spec in args:
            f = spec.split(":")
            if f[0] == "c":
                flags = int(f[3])
                t.create(
                    text(f[1]),
                    unhex(f[2]),
                    ephemeral=bool(flags & 1),
                    sequence=bool(flags & 2),
                )
            elif f[0] == "d":
                t.delete(text(f[1]), int(f[2]))
            elif f[0] == "k":
                t.check(text(f[1]), int(f[2]))
            elif f[0] == "s":
                t.set_data(text(f[1]), unhex(f[2]), int(f[3]))
            else:
                return "bad multi op " + f[0]
        results = t.commit_async().get(timeout=OP_TIMEOUT)
        return "multi " + ",".join(multi_result(r) for r in results)
    if op == "auth":
        client.add_auth_async(text(args[0]), unhex(args[1]).decode()).get(
            timeout=OP_TIMEOUT
        )
        return "ok"
    if op == "reconfig":
        joining, leaving, new = (text(a) or None for a in args[:3])
        data, _ = client.reconfig(joining, leaving, new, from_config=int(args[3]))
        return "data " + hexed(data)
    return "bad op " + op


def answer(words):
    cmd, handle = words[0], words[1]
    if cmd == "open":
        return start(handle, words[2], words[3])
    if cmd == "resume":
        return start(handle, words[2], words[3], (int(words[4]), unhex(words[5])))
    client = sessions.get(handle)
    if cmd == "events":
        with events_ready:
            if not events.get(handle):
                events_ready.wait(int(words[2]) / 1000.0)
            got = events.pop(handle, [])
        return " ".join(["events"] + got)
    if client is None:
        return "lost no-session"
    if cmd == "close":
        del sessions[handle]
        client.stop()
        client.close()
        return "ok"
    if cmd == "drop":
        # Without closeSession: stop reconnecting, then cut the socket under kazoo.
        del sessions[handle]
        client._stopped.set()
        sock = getattr(client._connection, "_socket", None)
        if sock is not None:
            try:
                sock.shutdown(2)
            except OSError:
                pass
        return "ok"
    if cmd == "call":
        try:
            return call(client, handle, words[2], words[3:])
        except ConnectionLoss:
            return "err -4"
        except KazooException as e:
            code = code_of(e)
            if code == -1:
                return "lost " + hexed(repr(e).encode())
            return "err %d" % code
        except Exception as e:  # the handler's timeout, a socket error
            return "lost " + hexed(repr(e).encode())
    return "bad command " + cmd


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            out = answer(words)
        except Exception as e:  # an open that timed out, ...
            out = "lost " + hexed(repr(e).encode())
        sys.stdout.write(out + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
