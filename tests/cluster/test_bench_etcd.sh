#!/usr/bin/env bash
# The etcd harness of bench/bench_cluster (the peer the cluster bench measures
# against) starts a 3-member etcd cluster on free ports, puts a key through the
# HTTP/JSON gateway, reads it back serializably from another member, and stops
# every member: each member's process is reaped and its client port closed
# (bench_cluster checks both and says "stopped: ok"). A few
# seconds; the full comparison is `make bench-etcd`. etcd comes from
# scripts/install-deps.sh, so its absence is a failure, not a skip.
set -euo pipefail
BUILD=${PROVENA_BUILD:-build}
BIN=$BUILD/bench/bench_cluster
[ -x "$BIN" ] || { echo "test_bench_etcd: $BIN is not built" >&2; exit 77; }
command -v "${ETCD:-etcd}" >/dev/null || { echo "test_bench_etcd: etcd is not installed (scripts/install-deps.sh)" >&2; exit 1; }
out=$("$BIN" --etcd-smoke)
echo "$out"
grep -q "put and serializable read back: ok; stopped: ok" <<<"$out"
echo "test_bench_etcd: ok"
