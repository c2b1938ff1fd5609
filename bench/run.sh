#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — every benchmark, one table each:
#   bench_chain    apply rate on one core (single-unit transitions, mint batches)
#   bench_cluster  commit throughput/latency of a 3-node cluster, 1 and 64 submitters
#   mint.sh        minting 1,000,000 labelled units through the CLI
#   gateway.sh     Digital Link resolutions/s with wrk against 1,000,000 units
#   pallet.py      pickup/deliver of a pallet of 10,000 units on a 3-node cluster
# Set BENCH=name (e.g. BENCH=chain) to run one only.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
want() { [ -z "${BENCH:-}" ] || [ "$BENCH" = "$1" ]; }
if want chain; then echo "== chain"; "$BUILD/bench/bench_chain"; fi
if want cluster; then echo "== cluster"; "$BUILD/bench/bench_cluster"; fi
if want mint; then echo "== mint"; bash "$HERE/mint.sh" "$BUILD"; fi
if want gateway; then echo "== gateway"; bash "$HERE/gateway.sh" "$BUILD"; fi
if want pallet; then echo "== pallet"; python3 "$HERE/pallet.py" "$BUILD"; fi
