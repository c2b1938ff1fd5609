#!/usr/bin/env bash
# bench/mint.sh BUILD_DIR — minting throughput through the provena CLI.
#
# Starts a fresh 3-node network on free 127.0.0.1 ports in a temp dir, then
# times `provena mint --count $MINT_COUNT` (default 1,000,000 units; every label
# signed by the brand, batched into 10,000-unit mint txs, pipelined) from the
# first request to the last commit. Floor: under 120 s. Then, without a network,
# the signing rate (mint --dry-run) and the label rendering rate (SVG + PNG per
# unit plus the printable sheet: mint --dry-run --labels). Prints a table.
# Every node started is stopped on exit.
set -euo pipefail

BUILD=${1:-build}
P="$BUILD/provena"
NODE_BIN="$BUILD/provena-node"
COUNT=${MINT_COUNT:-1000000}
LABELS=${MINT_LABELS:-2000}
FLOOR_S=120
GTIN=09506000123455
for b in "$P" "$NODE_BIN"; do [ -x "$b" ] || { echo "bench/mint: $b not built" >&2; exit 1; }; done

DIR=$(mktemp -d /tmp/provena-bench-mint-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "bench/mint: kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

read -r -a PORTS <<<"$(python3 -c '
import socket
s=[socket.socket() for _ in range(6)]
for x in s: x.bind(("127.0.0.1",0))
print(" ".join(str(x.getsockname()[1]) for x in s))')"

for k in brand node1 node2 node3; do "$P" key new "$DIR/$k.key" >"$DIR/$k.pub"; done
G="$DIR/genesis.json"
"$P" genesis init --chain bench-mint --brand-key "$DIR/brand.key" --brand-id acme \
  --prefix 9506000 --out "$G" 2>/dev/null
for i in 1 2 3; do
  "$P" genesis add-node "$G" --id $i --raft "tcp://127.0.0.1:${PORTS[$((2*i-2))]}" \
    --http "http://127.0.0.1:${PORTS[$((2*i-1))]}" --pub "$(cat "$DIR/node$i.pub")"
done
for i in 1 2 3; do
  "$NODE_BIN" --genesis "$G" --id $i --data "$DIR/node$i" --key "$DIR/node$i.key" --insecure-plaintext \
    >"$DIR/node$i.log" 2>&1 &
  PIDS+=($!)
done
N1="http://127.0.0.1:${PORTS[1]}"
ok=0
for _ in $(seq 1 300); do
  if curl -sf "$N1/api/v1/status" | grep -q '"role": *"leader"\|"leader": *[1-9]'; then ok=1; break; fi
  sleep 0.1
done
[ $ok = 1 ] || { echo "bench/mint: no leader in 30 s" >&2; tail -5 "$DIR"/node*.log >&2; exit 1; }

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
t0=$(now)
"$P" mint --node "$N1" --key "$DIR/brand.key" --gtin $GTIN --lot BENCH1 --expiry 301231 \
  --count "$COUNT" >"$DIR/units.txt" || { KEEP=1; exit 1; }
t1=$(now)
minted=$(wc -l <"$DIR/units.txt")
mint_s=$(calc "$t1 - $t0")

t0=$(now)
"$P" mint --genesis "$G" --key "$DIR/brand.key" --gtin $GTIN --lot SIGN --count 100000 \
  --dry-run >/dev/null 2>&1
t1=$(now)
sign_s=$(calc "$t1 - $t0")

t0=$(now)
"$P" mint --genesis "$G" --key "$DIR/brand.key" --gtin $GTIN --lot LABELS --count "$LABELS" \
  --batch 500 --dry-run --labels "$DIR/labels" >/dev/null 2>&1
t1=$(now)
label_s=$(calc "$t1 - $t0")

printf '\n%-44s %14s %12s\n' "provena mint ($(nproc) cores)" "units" "seconds"
printf '%-44s %14s %12.1f   %8.0f units/s\n' "mint + commit on 3 nodes, labels signed" \
  "$minted" "$mint_s" "$(calc "$minted / $mint_s")"
printf '%-44s %14s %12.1f   %8.0f units/s\n' "label signatures only (--dry-run)" 100000 \
  "$sign_s" "$(calc "100000 / $sign_s")"
printf '%-44s %14s %12.1f   %8.0f labels/s\n' "labels rendered (SVG + PNG + sheet)" "$LABELS" \
  "$label_s" "$(calc "$LABELS / $label_s")"
if [ "$minted" -ne "$COUNT" ]; then
  echo "FAIL: minted $minted of $COUNT" >&2; exit 1
fi
if [ "$COUNT" -ge 1000000 ] && [ "$(calc "($mint_s >= $FLOOR_S) ? 1 : 0")" = 1 ]; then
  echo "FAIL: 1,000,000 units took ${mint_s}s, floor is ${FLOOR_S}s" >&2; exit 1
fi
