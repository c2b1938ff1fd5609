#!/usr/bin/env bash
# demo.sh BUILD_DIR — a local three-node Provena network with demo data.
#
# Started by `make demo`. Creates ./demo-data (fresh keys, a genesis for a brand,
# a carrier and a seller, one node each), starts the three provena-node
# processes (HTTP 8101-8103, Raft 7101-7103), mints a lot with labels, runs a
# full lifecycle for a few units, scans one label from two far-apart regions,
# and prints what to open and what to try. Ctrl-C stops the nodes cleanly.
# DEMO_EXIT=1 stops right after the setup (used by tests). DEMO_HTTP_PORTS and
# DEMO_RAFT_PORTS ("a b c", three each) move the nodes off the default ports.
set -euo pipefail

BUILD=${1:-build}
P="$BUILD/provena"
NODE_BIN="$BUILD/provena-node"
DATA=${DEMO_DATA:-./demo-data}
GTIN=09506000123455
LOT=DEMO-$(date +%y%m%d)
read -r -a HTTP_PORTS <<<"${DEMO_HTTP_PORTS:-8101 8102 8103}"
read -r -a RAFT_PORTS <<<"${DEMO_RAFT_PORTS:-7101 7102 7103}"
[ ${#HTTP_PORTS[@]} -eq 3 ] && [ ${#RAFT_PORTS[@]} -eq 3 ] ||
  { printf 'demo: DEMO_HTTP_PORTS and DEMO_RAFT_PORTS need three ports each\n' >&2; exit 1; }
PIDS=()

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

for b in "$P" "$NODE_BIN"; do
  [ -x "$b" ] || die "$b not found: build first (make)"
done
command -v curl >/dev/null || die "curl is needed for the scan part of the demo"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${HTTP_PORTS[@]}" "${RAFT_PORTS[@]}"; do
  if port_busy "$p"; then
    die "port $p on 127.0.0.1 is busy (another demo still running?). Stop it and retry."
  fi
done

stop_nodes() {
  local rc=$?
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    say "stopping the nodes"
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for _ in $(seq 1 100); do
      local alive=0
      for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
  exit "$rc"
}
trap stop_nodes EXIT
trap 'exit 130' INT TERM

say "fresh demo data in $DATA"
rm -rf "$DATA"
mkdir -p "$DATA/keys"
K="$DATA/keys"
for k in brand carrier seller service node1 node2 node3 alice bob; do
  "$P" key new "$K/$k.key" > "$K/$k.pub"
done
# each node's TLS key: its certificate is pinned in genesis, its links are mutual TLS
for i in 1 2 3; do
  "$P" key new --tls "$K/node$i.tls" >/dev/null
done
pub() { cat "$K/$1.pub"; }

G="$DATA/genesis.json"
"$P" genesis init --chain provena-demo --brand-key "$K/brand.key" --brand-id acme \
  --brand-name "Acme Outdoor GmbH" --prefix 9506000 --out "$G" 2>/dev/null
"$P" genesis add-participant "$G" --role carrier --id carrier-dhl --name "DHL Freight" \
  --pub "$(pub carrier)" --regions DE,AT
"$P" genesis add-participant "$G" --role seller --id seller-berlin --name "Bergsport Berlin" \
  --pub "$(pub seller)" --regions DE
"$P" genesis add-participant "$G" --role service --id service-munich \
  --name "Acme Service Munich" --pub "$(pub service)" --regions DE-BY
OPS=(acme carrier-dhl seller-berlin)
for i in 1 2 3; do
  "$P" genesis add-node "$G" --id $i --raft "tls+tcp://127.0.0.1:${RAFT_PORTS[$((i-1))]}" \
    --http "http://127.0.0.1:${HTTP_PORTS[$((i-1))]}" --pub "$(pub node$i)" \
    --tls "$K/node$i.tls" --operator "${OPS[$((i-1))]}"
done
# Customers' passkeys: the pages are served on localhost (an IP address is not
# a valid WebAuthn rp id), so the relying party is localhost and each node's
# localhost origin is allowed.
python3 - "$G" "${HTTP_PORTS[@]}" <<'PY'
import json, sys
path, ports = sys.argv[1], sys.argv[2:]
doc = json.load(open(path))
doc["webauthn"] = {"rp_id": "localhost", "origins": [f"http://localhost:{p}" for p in ports]}
json.dump(doc, open(path, "w"), indent=1)
PY
CHAIN_ID=$("$P" genesis show "$G" 2>/dev/null)
say "genesis $G, chain id $CHAIN_ID"

for i in 1 2 3; do
  "$NODE_BIN" --genesis "$G" --id $i --data "$DATA/node$i" --key "$K/node$i.key" \
    --trusted-proxy 127.0.0.1 --region-header X-Region \
    --raft-tls "$K/node$i.tls" >"$DATA/node$i.log" 2>&1 &
  PIDS+=($!)
done
say "started nodes (pids ${PIDS[*]}), logs in $DATA/node{1,2,3}.log"

N1=http://127.0.0.1:${HTTP_PORTS[0]}
N2=http://127.0.0.1:${HTTP_PORTS[1]}
export PROVENA_NODE=$N1
leader=""
for _ in $(seq 1 300); do
  for i in 0 1 2; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || die "node $((i+1)) exited: $(tail -5 "$DATA/node$((i+1)).log")"
  done
  st=$(curl -sf "$N1/api/v1/status" 2>/dev/null || true)
  case "$st" in *'"leader"'*) ;; *) sleep 0.1; continue ;; esac
  for p in "${HTTP_PORTS[@]}"; do
    if curl -sf "http://127.0.0.1:$p/api/v1/status" | grep -q '"role": *"leader"'; then
      leader=$p
    fi
  done
  [ -n "$leader" ] && break
  sleep 0.1
done
[ -n "$leader" ] || die "no leader elected within 30 s (see $DATA/node*.log)"
say "leader elected (http port $leader)"

say "minting 24 units of $GTIN lot $LOT with labels"
"$P" mint --key "$K/brand.key" --gtin $GTIN --lot "$LOT" --expiry 281231 \
  --model "Summit 45 backpack" --warranty-months 24 --markets DE,AT --count 24 \
  --labels "$DATA/labels" --csv "$DATA/units.csv" >"$DATA/units.txt"
mapfile -t U <"$DATA/units.txt"
[ ${#U[@]} -eq 24 ] || die "mint printed ${#U[@]} units, expected 24"

say "carrier picks up 6 units and delivers them to the seller"
"$P" pickup --key "$K/carrier.key" --region DE "${U[@]:0:6}"
"$P" deliver --key "$K/carrier.key" --to seller-berlin --region DE "${U[@]:0:6}"

say "seller sells ${U[0]} with a claim code; alice claims it"
CODE=$("$P" sell "${U[0]}" --key "$K/seller.key" --claim-code | sed -n 's/^claim code: //p')
[ -n "$CODE" ] || die "no claim code printed"
"$P" claim "${U[0]}" --key "$K/alice.key" --code "$CODE"
"$P" warranty activate "${U[0]}" --key "$K/alice.key"
say "alice transfers ${U[0]} to bob"
"$P" transfer "${U[0]}" --key "$K/alice.key" --to "$(pub bob)"
say "seller sells ${U[1]} straight to alice's key"
"$P" sell "${U[1]}" --key "$K/seller.key" --buyer "$(pub alice)"
say "seller sells ${U[5]} with a claim code, for a customer on a phone"
PCODE=$("$P" sell "${U[5]}" --key "$K/seller.key" --claim-code | sed -n 's/^claim code: //p')
[ -n "$PCODE" ] || die "no claim code printed"
say "brand recalls ${U[2]}"
"$P" flag --key "$K/brand.key" --reason recalled "${U[2]}"

# A copied label: the same Digital Link scanned in Germany and in Japan.
URL=$(awk -F, -v s="${U[3]#*/}" '$2 == s { print $5 }' "$DATA/units.csv")
[ -n "$URL" ] || die "no URL for ${U[3]} in units.csv"
PATHQ=${URL#http://127.0.0.1:${HTTP_PORTS[0]}}
# The nodes believe a fronting proxy on 127.0.0.1 (--trusted-proxy): its
# X-Forwarded-For names the client and X-Region its country. Three networks
# in three countries minutes apart: corroborated impossible travel.
say "scanning ${U[3]} from DE (node 1), JP (node 2) and BR (node 3): a copied code"
curl -sf -o /dev/null -H 'X-Forwarded-For: 203.0.113.5' -H 'X-Region: DE' "$N1$PATHQ" || true
sleep 1
curl -sf -o /dev/null -H 'X-Forwarded-For: 198.51.100.9' -H 'X-Region: JP' "$N2$PATHQ" || true
curl -sf -o /dev/null -H 'X-Forwarded-For: 192.0.2.77' -H 'X-Region: BR' \
  "http://127.0.0.1:${HTTP_PORTS[2]}$PATHQ" || true

SER0=${U[0]#*/}
SER3=${U[3]#*/}
PNG=$(ls "$DATA/labels"/*.png 2>/dev/null | head -1)
DASH="(sign-in failed: see $P dashboard login --help)"
# the brand's key signs node 1's login challenge; the session stays in a 0600 file
rm -f "$DATA/dashboard.session"
if "$P" dashboard login --node "$N1" --key "$K/brand.key" --out "$DATA/dashboard.session" 2>/dev/null; then
  DASH="$N1/dashboard/login (paste the session in $DATA/dashboard.session)"
fi
cat <<EOF

Provena demo network is running: chain provena-demo ($CHAIN_ID)
  nodes      $N1  $N2  http://127.0.0.1:${HTTP_PORTS[2]}

Open:
  unit page (sold, claimed, transferred)  $N1/01/$GTIN/21/$SER0
  copied label, now suspicious            $N1/01/$GTIN/21/$SER3
  recalled unit                           $N1/01/$GTIN/21/${U[2]#*/}
  customer on a phone (claim with code $PCODE and a passkey, in Chromium):
                                          http://localhost:${HTTP_PORTS[0]}/01/$GTIN/21/${U[5]#*/}
  a label (PNG)                           $N1/api/v1/units/$GTIN/$SER0/label.png
                                          (printed labels: $DATA/labels/, e.g. $PNG)
  dashboard                               $DASH
  metrics                                 $N1/metrics

Try (PROVENA_NODE=$N1):
  $P history ${U[0]}
  $P verify '$URL' --genesis $G --offline
  $P status
  $P chain audit --node $N2 --genesis $G
  $P pickup --key $K/carrier.key ${U[6]} ${U[7]}
  $P sell ${U[4]} --key $K/seller.key --buyer $(pub alice)     # refused: not_holder
EOF

if [ "${DEMO_EXIT:-0}" = 1 ]; then
  say "DEMO_EXIT=1: stopping"
  exit 0
fi
say "press Ctrl-C to stop the network"
STOP=0
trap 'STOP=1' INT TERM
while [ $STOP = 0 ]; do
  sleep 1 &
  wait $! 2>/dev/null || true
  [ $STOP = 1 ] && break
  for i in 0 1 2; do
    kill -0 "${PIDS[$i]}" 2>/dev/null || die "node $((i+1)) exited (see $DATA/node$((i+1)).log)"
  done
done
exit 0
