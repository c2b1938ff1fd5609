#!/usr/bin/env bash
# bench/run.sh BUILD_DIR — every benchmark, one table each:
#   bench_chain    apply rate on one core (single-unit transitions, mint batches)
#   bench_cluster  commit throughput/latency of a 3-node cluster, 1 and 64 submitters,
#                  and resolutions, against a 3-member etcd run before and after it
#                  (ratios next to issue 18's floors; exit 3 when one is not met)
#   mint.sh        minting 1,000,000 labelled units through the CLI
#   gateway.sh     Digital Link resolutions/s with wrk against 1,000,000 units
# Set BENCH=name (e.g. BENCH=chain) to run one only.
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
want() { [ -z "${BENCH:-}" ] || [ "$BENCH" = "$1" ]; }
if want chain; then echo "== chain"; "$BUILD/bench/bench_chain"; fi
if want cluster; then
  echo "== cluster (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
  rc=0; "$BUILD/bench/bench_cluster" || rc=$?
  if [ $rc -eq 3 ]; then echo "bench_cluster: floors not all met (table above)"; elif [ $rc -ne 0 ]; then exit $rc; fi
fi
if want mint; then echo "== mint"; bash "$HERE/mint.sh" "$BUILD"; fi
if want gateway; then echo "== gateway"; bash "$HERE/gateway.sh" "$BUILD"; fi
