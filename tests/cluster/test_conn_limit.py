"""GW_CONN_MAX concurrent connections on a node's gateway, and not one more.

With GW_CONN_MAX - 1 connections open (each holding a half-sent request, so the
idle timeout never closes them), one more connection is still answered: that
makes exactly GW_CONN_MAX. The next one gets no answer while they stay open;
once one of them closes, a connection is answered again.
"""

import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import scaled  # noqa: E402

GW_CONN_MAX = 1024  # node/gateway.h
GET = b"GET /api/v1/head HTTP/1.1\r\nHost: t\r\n\r\n"


def answer(s, timeout):
    """The status line the node answers on s within timeout; b"" on EOF, None on
    no answer at all."""
    s.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                return b""
            data += chunk
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return b""
    return data.split(b"\r\n", 1)[0]


class Holder:
    """Connections that each send a request line and then one header byte every
    second, never finishing: the node keeps them, counted, and never times
    them out (GW_CONN_TIMEOUT_S is an idle timeout)."""

    def __init__(self, addr, n):
        self.socks = [socket.create_connection(addr, timeout=scaled(10)) for _ in range(n)]
        for s in self.socks:
            s.sendall(b"GET /api/v1/head HTTP/1.1\r\nX-Wait: ")
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.trickle, daemon=True)
        self.t.start()

    def trickle(self):
        while not self.stop.wait(1.0):
            for s in list(self.socks):
                try:
                    s.send(b"a")
                except OSError:
                    pass

    def closed_by_node(self):
        """How many of the held connections the node has closed."""
        n = 0
        for s in self.socks:
            s.setblocking(False)
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    n += 1
            except BlockingIOError:
                pass
            except OSError:
                n += 1
            s.setblocking(True)
        return n

    def close_one(self):
        self.socks.pop().close()

    def close(self):
        self.stop.set()
        self.t.join()
        for s in self.socks:
            s.close()


def main():
    lib.require_built()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4 * GW_CONN_MAX
    if soft < want and (hard == resource.RLIM_INFINITY or hard >= want):
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the node inherits it
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft >= 2 * GW_CONN_MAX + 64, f"open files limit {soft}: raise `ulimit -n`"
    # every connection comes from 127.0.0.1: the per-address cap (--conn-per-client,
    # tested in test_admission.py) is lifted so the total cap is what is measured
    c = lib.Cluster(1, name="connlimit", node_args=("--conn-per-client", "off"))
    try:
        c.start_all()
        c.leader()
        nd = c.nodes[0]
        host, port = nd.http.split("//", 1)[1].split(":")
        addr = (host, int(port))
        held = Holder(addr, GW_CONN_MAX - 1)
        try:
            # the GW_CONN_MAX-th connection is served (keep-alive: it stays open)
            last = socket.create_connection(addr, timeout=scaled(10))
            last.sendall(GET)
            st = answer(last, scaled(20))
            assert st and b" 200 " in st, f"connection {GW_CONN_MAX}: {st!r}"
            assert held.closed_by_node() == 0, "the node closed held connections"
            # one more: no answer while GW_CONN_MAX are open
            past = socket.create_connection(addr, timeout=scaled(10))
            past.sendall(GET)
            st = answer(past, scaled(3))
            assert not st, f"connection {GW_CONN_MAX + 1} answered {st!r}"
            assert held.closed_by_node() == 0, "the node closed held connections"
            print(f"ok: {GW_CONN_MAX} connections served at once, number "
                  f"{GW_CONN_MAX + 1} not ({'closed' if st == b'' else 'no answer'})")
            # a place freed: served again (the waiting one, or a new one when
            # the node closed it at once)
            held.close_one()
            if st == b"":
                past.close()
                past = socket.create_connection(addr, timeout=scaled(10))
                past.sendall(GET)
            st = answer(past, scaled(20))
            assert st and b" 200 " in st, f"after one closed: {st!r}"
            past.close()
            last.close()
            print("ok: a connection closed, the next one served")
        finally:
            held.close()
        # all released: the node serves as before
        deadline = time.monotonic() + scaled(30)
        while True:
            st, _ = nd.get("/api/v1/head")
            if st == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert st == 200, st
        nd.stop()
        print("test_conn_limit: OK")
        return 0
    except Exception:
        c.dump_logs()
        raise
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
