#!/usr/bin/env bash
# bench/gateway.sh — Digital Link resolutions/s and latency of one provena-node
# holding UNITS units (default 1,000,000), with wrk at 64 connections: JSON
# (Accept: application/json) and the HTML page, each a random unit per request,
# median of three runs. Every resolution records a scan; with the node key the
# scans go into node-signed batches that the ledger applies (the recorded run),
# and a last row repeats JSON with the node started without its key, so scans
# are only counted: the cost of recording, as a ratio.
#
# The ledger is filled by bench_gw_fill (blocks applied straight through
# chain_block_apply into the node's data dir before it starts) and cached in
# $PROVENA_BENCH_DIR (default /tmp/provena-bench-gw-v2-$UNITS: v2 is the ledger format
# with events beside their units; the node refuses a cache of the older one) for later runs.
# After each start a WARMUP-second run (default 5) faults the map in, unmeasured.
# Rate limiting is off for the run (PROVENA_GW_RATE=off): wrk is one client.
#
# The peer (issue 18: JSON resolutions >= 5x etcd's serializable range reads at
# 64 connections, p99 <= 5 ms): before the node starts and after it stops,
# `bench_cluster --etcd-reads ETCD_KEYS` runs a fresh 3-member etcd on 127.0.0.1
# (ETCD_KEYS keys of 250 bytes, default 10,000; reads of random keys through the
# JSON gateway, 64 connections, median of three runs); the last lines give both
# and the ratio of the recorded JSON row to their mean. ETCD=0 skips it.
#
#   bench/gateway.sh [BUILD_DIR]      env: UNITS, DURATION (s), CONNS, THREADS, WARMUP (s),
#                                          ETCD_KEYS, ETCD (0: no etcd rows)
set -euo pipefail
BUILD=$(cd "${1:-build}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
UNITS=${UNITS:-1000000}
DURATION=${DURATION:-10}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
NODE_BIN=${NODE_BIN:-$BUILD/provena-node}
DIR=${PROVENA_BENCH_DIR:-/tmp/provena-bench-gw-v2-$UNITS}
for t in "$NODE_BIN" "$BUILD/tests/cluster/txtool" "$BUILD/bench/bench_gw_fill" "$BUILD/bench/bench_cluster"; do
  [ -x "$t" ] || { echo "bench/gateway.sh: $t is not built" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "bench/gateway.sh: wrk is not installed" >&2; exit 1; }
etcd_reads() { # -> "reads/s p50_ms p99_ms" (bench_cluster stops its etcd members itself)
  if [ "${ETCD:-1}" = 0 ]; then echo "0 0 0"; return; fi
  "$BUILD/bench/bench_cluster" --etcd-reads "${ETCD_KEYS:-10000}" 2>/dev/null
}
ETCD_BEFORE=$(etcd_reads)

if [ ! -f "$DIR/filled" ]; then
  rm -rf "$DIR" && mkdir -p "$DIR"
  "$BUILD/tests/cluster/txtool" key "$DIR/brand.key" >"$DIR/brand.pub"
  "$BUILD/tests/cluster/txtool" key "$DIR/node1.key" >"$DIR/node1.pub"
  read -r RAFT HTTP < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  python3 - "$DIR" "$RAFT" "$HTTP" <<'PY'
import json, sys, time
d, raft, http = sys.argv[1], sys.argv[2], sys.argv[3]
brand = open(f"{d}/brand.pub").read().split()[0]
node = open(f"{d}/node1.pub").read().split()[0]
json.dump({"chain": "bench-gateway", "time": int(time.time()),
           "brands": [{"id": "acme", "name": "Acme Bench", "pub": brand, "prefixes": ["9506000"]}],
           "participants": [],
           "nodes": [{"id": 1, "operator": "acme", "raft": f"tcp://127.0.0.1:{raft}",
                      "http": f"http://127.0.0.1:{http}", "pub": node}]},
          open(f"{d}/genesis.json", "w"), indent=1)
PY
  echo "filling $UNITS units into $DIR/node1 ..."
  "$BUILD/bench/bench_gw_fill" "$DIR/genesis.json" "$DIR/brand.key" "$DIR/node1" "$UNITS"
  touch "$DIR/filled"
fi
URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["nodes"][0]["http"])' "$DIR/genesis.json")
PORT=${URL##*:}

NODE_PID=
start_node() { # [--key FILE]: with the key, scans are signed into batches and replicated
  PROVENA_GW_RATE=off "$NODE_BIN" --genesis "$DIR/genesis.json" --id 1 --data "$DIR/node1" --insecure-plaintext \
    "$@" >>"$DIR/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 300); do
    curl -sf "$URL/api/v1/head" >/dev/null 2>&1 && break
    kill -0 $NODE_PID 2>/dev/null || { echo "node exited:"; tail -20 "$DIR/node.log"; exit 1; }
    sleep 0.1
  done
  curl -sf "$URL/api/v1/units/09506000123455/U0000000" >/dev/null ||
    { echo "bench/gateway.sh: the filled units are not readable" >&2; exit 1; }
  # a fresh process faults the ledger's map in page by page: warm up, unmeasured
  [ -f "$DIR/random.lua" ] && BENCH_ACCEPT=application/json \
    wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP:-5}s" -s "$DIR/random.lua" "$URL" >/dev/null
}
stop_node() {
  [ -n "$NODE_PID" ] && { kill $NODE_PID 2>/dev/null; wait $NODE_PID 2>/dev/null || true; }
  NODE_PID=
}
trap stop_node EXIT
: >"$DIR/node.log"
LUA=$DIR/random.lua
cat >"$LUA" <<LUAEOF
-- a random unit of the $UNITS per request
math.randomseed(os.time())
local accept = os.getenv("BENCH_ACCEPT") or "application/json"
request = function()
  local path = string.format("/01/09506000123455/21/U%07d", math.random(0, $UNITS - 1))
  return wrk.format("GET", path, {["Accept"] = accept})
end
LUAEOF
start_node --key "$DIR/node1.key"

run() { # accept -> "rps p50_ms p99_ms non2xx"
  BENCH_ACCEPT=$1 wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$LUA" "$URL" |
    awk '/Requests\/sec/ {rps=$2}
         /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         /Non-2xx/ {bad=$NF}
         function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
         END {printf "%.0f %.2f %.2f %d\n", rps, ms(p50), ms(p99), bad+0}'
}
median() { sort -n | sed -n 2p; }

row() { # name accept: three runs, medians
  local runs=() rps p50 p99 bad
  for i in 1 2 3; do runs+=("$(run "$2")"); done
  rps=$(printf "%s\n" "${runs[@]}" | awk '{print $1}' | median)
  p50=$(printf "%s\n" "${runs[@]}" | awk '{print $2}' | median)
  p99=$(printf "%s\n" "${runs[@]}" | awk '{print $3}' | median)
  bad=$(printf "%s\n" "${runs[@]}" | awk '{s+=$4} END {print s}')
  printf "%-26s %12s %10s %10s %8s\n" "$1" "$rps" "$p50" "$p99" "$bad"
  LAST_RPS=$rps
  LAST_P99=$p99
}

printf "\ngateway: %s units, %d connections, %d wrk threads, %ss per run, median of 3\n" \
  "$UNITS" "$CONNS" "$THREADS" "$DURATION"
printf "%-26s %12s %10s %10s %8s\n" "form" "resolves/s" "p50 ms" "p99 ms" "non-2xx"
row "json, scans replicated" application/json
JSON_ON=$LAST_RPS
JSON_ON_P99=$LAST_P99
row "html, scans replicated" text/html
metrics=$(curl -s "$URL/metrics")
scans=$(awk '/^provena_scans_recorded_total\{kind="scan"\}/ {print $2}' <<<"$metrics")
batches=$(awk '/^provena_scan_batches_total/ {print $2}' <<<"$metrics")
dropped=$(awk '/^provena_scans_dropped_total/ {print $2}' <<<"$metrics")
# the same node without its key: scans are counted but not signed into batches
stop_node
start_node
row "json, scans not replicated" application/json
echo "with the node key: $scans scans recorded, $batches signed scans batches, $dropped dropped"
awk -v a="$JSON_ON" -v b="$LAST_RPS" 'BEGIN { if (b > 0) printf "recording and replicating every scan costs %.0f%% of JSON throughput (%.2fx)\n", 100 * (1 - a / b), b / a }'
stop_node
ETCD_AFTER=$(etcd_reads)
if [ "${ETCD:-1}" != 0 ]; then
  read -r eb eb50 eb99 <<<"$ETCD_BEFORE"
  read -r ea ea50 ea99 <<<"$ETCD_AFTER"
  printf "etcd 3.4 (3 members) serializable range reads, %s conns: before %s/s (p50 %s, p99 %s ms), after %s/s (p50 %s, p99 %s ms)\n" \
    64 "$eb" "$eb50" "$eb99" "$ea" "$ea50" "$ea99"
  awk -v j="$JSON_ON" -v p="$JSON_ON_P99" -v b="$eb" -v a="$ea" 'BEGIN {
    m = (a + b) / 2; r = m > 0 ? j / m : 0
    printf "json, scans replicated: %.2fx etcd (floor >= 5x: %s), p99 %s ms (floor <= 5 ms: %s)\n",
      r, (r >= 5 ? "met" : "NOT MET"), p, (p <= 5 ? "met" : "NOT MET") }'
fi
