#!/usr/bin/env python3
"""bench/pallet.py [BUILD_DIR] — moving a full pallet on a 3-node cluster.

Starts three nodes on free 127.0.0.1 ports in a temp dir, mints PALLET_UNITS
units (default 10,000 = CHAIN_PACK_UNITS_MAX) with the CLI, packs them all into
one pallet (one pack tx), then has a carrier pick the pallet up and deliver it
(one tx each, every unit inside moving) PALLET_RUNS times (default 3). Prints
one row per step: units moved, wall time from the CLI's start to its accepted
receipt (so an upper bound: process start, key, nonce and chain id lookups
included). The issue's target: a pallet pickup of 10,000 units under 1 s.
"""

import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "cluster"))
if len(sys.argv) > 1:
    os.environ["PROVENA_BUILD"] = os.path.abspath(sys.argv[1])
import lib  # noqa: E402
from test_cli import cli  # noqa: E402

UNITS = int(os.environ.get("PALLET_UNITS", "10000"))
RUNS = int(os.environ.get("PALLET_RUNS", "3"))
PALLET = "395060001000000000"


def sscc(body17):
    t = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body17)))
    return body17 + str((10 - t % 10) % 10)


def timed(*args, **kw):
    t0 = time.monotonic()
    cli(*args, check=0, **kw)
    return time.monotonic() - t0


def main():
    lib.require_built()
    pallet = sscc(PALLET[:17])
    c = lib.Cluster(3, name="bench-pallet")
    ok = False
    try:
        d = tempfile.mkdtemp(prefix="pallet-", dir=c.dir)
        car = os.path.join(d, "carrier.key")
        pub = cli("key", "new", car, check=0).out.strip()
        cli("genesis", "add-participant", c.genesis, "--role", "carrier", "--id", "carrier-x",
            "--name", "Carrier X", "--pub", pub, "--regions", "DE", check=0)
        c.start_all()
        c.leader()
        N = dict(node=c.nodes[0].http)
        units = cli("mint", "--gtin", lib.GTIN, "--lot", "PAL", "--count", UNITS,
                    key=c.brand_key, check=0, **N).out.split()
        f = os.path.join(d, "units.txt")
        with open(f, "w") as fh:
            fh.write("\n".join(units) + "\n")
        rows = [("pack", len(units), timed("pack", "--sscc", pallet, "--units", f,
                                           key=c.brand_key, **N))]
        picks = []
        for _ in range(RUNS):
            t = timed("pickup", "--sscc", pallet, key=car, **N)
            picks.append(t)
            rows.append(("pickup --sscc", len(units), t))
            rows.append(("deliver --sscc", len(units),
                         timed("deliver", "--sscc", pallet, "--to", "carrier-x", key=car, **N)))
        c.wait_same_head(timeout=lib.scaled(60))
        print(f"pallet of {len(units)} units, 3-node cluster (CLI start → accepted receipt)")
        print(f"{'step':<16} {'units':>7} {'seconds':>8}")
        for name, n, t in rows:
            print(f"{name:<16} {n:>7} {t:>8.3f}")
        print(f"median pickup: {statistics.median(picks):.3f} s (target < 1 s)")
        ok = True
    finally:
        for nd in c.nodes:
            try:
                nd.stop(timeout=lib.scaled(20))
            except Exception:
                nd.kill()
        c.shutdown(keep=not ok)


if __name__ == "__main__":
    main()
