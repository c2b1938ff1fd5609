"""`make demo` end to end: scripts/demo.sh with DEMO_EXIT=1 must set up the
three-node demo network, run the whole demo lifecycle, print the URLs to open, and
stop every node it started. The nodes listen on ports free on this machine right
now (DEMO_HTTP_PORTS / DEMO_RAFT_PORTS), so a busy default port cannot stop it.
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

BUILD = os.path.abspath(os.environ.get("PROVENA_BUILD", "build"))
SRC = os.path.abspath(os.environ.get("PROVENA_SRC", "."))


def busy(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main():
    ports = lib.free_ports(6)
    data = tempfile.mkdtemp(prefix="provena-demo-")
    env = dict(os.environ, DEMO_EXIT="1", DEMO_DATA=data,
               DEMO_HTTP_PORTS=" ".join(map(str, ports[:3])),
               DEMO_RAFT_PORTS=" ".join(map(str, ports[3:])))
    env.pop("PROVENA_NODE", None)
    env.pop("PROVENA_KEY", None)
    p = subprocess.run(["bash", os.path.join(SRC, "scripts", "demo.sh"), BUILD], cwd=SRC,
                       env=env, capture_output=True, text=True, timeout=600)
    out = p.stdout + p.stderr
    if p.returncode != 0:
        for i in (1, 2, 3):
            try:
                out += f"\n---- node{i}.log ----\n" + open(os.path.join(data, f"node{i}.log")).read()[-3000:]
            except OSError:
                pass
    assert p.returncode == 0, f"demo.sh exited {p.returncode}:\n{out}"
    for want in (f"127.0.0.1:{ports[0]}", "Provena demo network is running", "/01/09506000123455/21/", "label.png",
                 "/metrics", "/dashboard/login (paste the session", "provena history", "stopping the nodes"):
        assert want in out, f"demo output lacks {want!r}:\n{out}"
    units = open(os.path.join(data, "units.txt")).read().split()
    assert len(units) == 24
    pngs = [f for f in os.listdir(os.path.join(data, "labels")) if f.endswith(".png")]
    assert len(pngs) == 24
    deadline = time.monotonic() + 10
    while any(busy(p) for p in ports) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(busy(p) for p in ports), "demo nodes still listening after DEMO_EXIT"
    print("test_cli_demo: OK")


if __name__ == "__main__":
    sys.exit(main())
