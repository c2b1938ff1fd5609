#!/usr/bin/env python3
"""bench/epcis_export.py [BUILD_DIR] — `provena epcis export` throughput.

Starts a one-node network on free 127.0.0.1 ports in a temp dir, mints
EPCIS_UNITS units (default 100,000) in one lot with the CLI, has a carrier pick
them all up (EPCIS_PICKUP=0 skips it; then one event per unit), and times
`provena epcis export` of the lot (median of EPCIS_RUNS, default 3). Prints
events, seconds, events/s, the export's peak RSS and the node's RSS growth
(memory must stay flat on both sides: the node builds the streamed document a
page at a time, the CLI writes it as it comes). The issue's target: 1,000,000
events (EPCIS_UNITS=500000) at 50,000 events/s. The node is stopped at exit.
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
if len(sys.argv) > 1:
    os.environ["PROVENA_BUILD"] = os.path.abspath(sys.argv[1])
import lib  # noqa: E402
from test_cli import cli  # noqa: E402

UNITS = int(os.environ.get("EPCIS_UNITS", "100000"))
RUNS = int(os.environ.get("EPCIS_RUNS", "3"))
PICKUP = os.environ.get("EPCIS_PICKUP", "1") != "0"


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


def main():
    c = lib.Cluster(1, name="bench-epcis")
    d = tempfile.mkdtemp(prefix="epcis-", dir=c.dir)
    car = os.path.join(d, "carrier.key")
    pub = cli("key", "new", car, check=0).out.strip()
    cli("genesis", "add-participant", c.genesis, "--role", "carrier", "--id", "carrier-x",
        "--name", "Carrier X", "--pub", pub, "--regions", "DE", check=0)
    nd = c.nodes[0]
    try:
        nd.start()
        c.leader()
        N = dict(node=nd.http)
        t0 = time.time()
        r = cli("mint", "--gtin", lib.GTIN, "--lot", "BENCH", "--count", UNITS,
                key=c.brand_key, check=0, **N)
        units_file = os.path.join(d, "units.txt")
        with open(units_file, "w") as f:
            f.write(r.out)
        if PICKUP:
            cli("pickup", "--file", units_file, "--region", "DE", key=car, check=0, **N)
        setup = time.time() - t0
        events = UNITS * (2 if PICKUP else 1)
        node_rss0 = rss_kb(nd.proc.pid)
        times, rss = [], []
        for i in range(RUNS):
            out = os.path.join(d, f"export{i}.json")
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t = time.time()
            p = subprocess.run(["/usr/bin/time", "-f", "%M", os.path.join(lib.BUILD, "provena"),
                                "epcis", "export", "--node", nd.http, "--gtin", lib.GTIN,
                                "--lot", "BENCH", "--out", out],
                               capture_output=True, text=True)
            times.append(time.time() - t)
            assert p.returncode == 0, p.stderr
            rss.append(int(p.stderr.strip().splitlines()[-1]))
            assert f"{events} events" in p.stderr, p.stderr
            del before
            os.unlink(out)
        node_rss1 = rss_kb(nd.proc.pid)
        med = statistics.median(times)
        print(f"setup (mint{' + pickup' if PICKUP else ''} of {UNITS:,} units): {setup:.1f} s")
        print()
        print("| events | runs | median s | events/s | export peak RSS | node RSS growth |")
        print("|---:|---:|---:|---:|---:|---:|")
        print(f"| {events:,} | {RUNS} | {med:.2f} | {events / med:,.0f} | "
              f"{max(rss) / 1024:.1f} MiB | {(node_rss1 - node_rss0) / 1024:+.1f} MiB |")
    finally:
        nd.stop()
        c.shutdown()


if __name__ == "__main__":
    main()
