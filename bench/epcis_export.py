#!/usr/bin/env python3
"""bench/epcis_export.py [BUILD_DIR] — `provena epcis export` throughput.

Starts a one-node network on free 127.0.0.1 ports in a temp dir, mints
EPCIS_UNITS units (default 100,000) in one lot with the CLI, has a carrier pick
them all up (EPCIS_PICKUP=0 skips it; then one event per unit), and times
`provena epcis export` of the lot (median of EPCIS_RUNS, default 3). Prints
events, seconds, events/s, the node's CPU seconds for it (events per node CPU
second is what the node could serve on a core of its own: this VM is shared,
and wall time counts other people's work), the exporter's CPU seconds and
peak RSS, and the node's heap growth (RssAnon: the database's mapped pages are
not heap) — memory must stay flat on both sides: the node builds the streamed
document a page at a time, the CLI writes it as it comes. The issue's target: 1,000,000
events (EPCIS_UNITS=500000) at 50,000 events/s. The node is stopped at exit.
"""

import os
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


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith(field + ":"):
                return int(ln.split()[1])
    return 0


def cpu_s(pid):
    """User + system CPU seconds the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        pid = nd.proc.pid
        heap0 = status_kb(pid, "RssAnon")
        times, rss, node_cpu, cli_cpu = [], [], [], []
        for i in range(RUNS):
            out = os.path.join(d, f"export{i}.json")
            c0 = cpu_s(pid)
            t = time.time()
            p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S",
                                os.path.join(lib.BUILD, "provena"),
                                "epcis", "export", "--node", nd.http, "--gtin", lib.GTIN,
                                "--lot", "BENCH", "--out", out],
                               capture_output=True, text=True)
            times.append(time.time() - t)
            node_cpu.append(cpu_s(pid) - c0)
            assert p.returncode == 0, p.stderr
            m, u, s_ = p.stderr.strip().splitlines()[-1].split()
            rss.append(int(m))
            cli_cpu.append(float(u) + float(s_))
            assert f"{events} events" in p.stderr, p.stderr
            os.unlink(out)
        heap1 = status_kb(pid, "RssAnon")
        med = statistics.median(times)
        ncpu = statistics.median(node_cpu)
        print(f"setup (mint{' + pickup' if PICKUP else ''} of {UNITS:,} units): {setup:.1f} s; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print()
        print("| events | runs | median s | events/s | node CPU s | events per node CPU s | "
              "export CPU s | export peak RSS | node heap growth |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        print(f"| {events:,} | {RUNS} | {med:.2f} | {events / med:,.0f} | {ncpu:.2f} | "
              f"{events / ncpu:,.0f} | {statistics.median(cli_cpu):.2f} | "
              f"{max(rss) / 1024:.1f} MiB | {(heap1 - heap0) / 1024:+.1f} MiB |")
    finally:
        nd.stop()
        c.shutdown()


if __name__ == "__main__":
    main()
