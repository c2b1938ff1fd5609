#!/usr/bin/env bash
# coverage.sh [BUILD_DIR] — branch coverage per module, unit and cluster tests together.
#
# Configures BUILD_DIR (default build-cov) with gcc --coverage (Debug, no
# optimisation, so branches map to the source), builds, runs every ctest test
# (the cluster tests stop their nodes with SIGTERM, so each provena-node writes
# its counters at exit; -fprofile-update=atomic keeps the counters of the
# nodes' threads exact), then captures with lcov and prints lines and branches
# per top-level source folder (chain, consensus, node, cli, genesis, and any
# folder added later). Floors per module (FLOOR below); the script exits 1
# when one is not met, or when a test failed. The HTML report goes to
# BUILD_DIR/coverage/index.html.
# COVERAGE_REPORT_ONLY=1 prints the table from the counters already there.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
B=${1:-$SRC/build-cov}
JOBS=${JOBS:-2}
RC=(--rc lcov_branch_coverage=1)
# Floors: what holds now, under the last full runs (chain 85.3, consensus 86.6,
# node 76.0, cli 75.9 % branches), so coverage can only grow. Every module is at
# its target of issue #20 (chain and consensus 85 %, node and cli 75 %); raise
# these as tests add more (docs/TESTING.md).
declare -A FLOOR=([chain]=85 [consensus]=86 [node]=75 [cli]=75)

test_rc=0
if [ -z "${COVERAGE_REPORT_ONLY:-}" ]; then
  cmake -S "$SRC" -B "$B" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="--coverage -fprofile-update=atomic" \
    -DCMAKE_EXE_LINKER_FLAGS=--coverage >/dev/null || exit 1
  nice -n 10 cmake --build "$B" -j "$JOBS" >/dev/null || { echo "coverage: build failed" >&2; exit 1; }
  find "$B" -name '*.gcda' -delete
  (cd "$B" && ctest --output-on-failure -j "$JOBS" ${CTEST_ARGS:-})
  test_rc=$?
fi

lcov "${RC[@]}" --quiet --capture --directory "$B" --base-directory "$SRC" \
  --output-file "$B/all.info" 2>/dev/null || { echo "coverage: lcov capture failed" >&2; exit 1; }
lcov "${RC[@]}" --quiet --extract "$B/all.info" "$SRC/*" --output-file "$B/src.info"
lcov "${RC[@]}" --quiet --remove "$B/src.info" "$SRC/tests/*" "$SRC/bench/*" \
  --output-file "$B/cov.info"

fail=0
printf '\n%-10s %7s %24s %7s\n' module lines "branches (hit/total)" floor
for dir in $(sed -n "s|^SF:$SRC/\\([^/]*\\)/.*|\\1|p" "$B/cov.info" | sort -u); do
  lcov "${RC[@]}" --quiet --extract "$B/cov.info" "$SRC/$dir/*" --output-file "$B/$dir.info"
  sum=$(lcov "${RC[@]}" --summary "$B/$dir.info" 2>&1)
  lines=$(sed -n 's/^ *lines\.*: *\([0-9.]*%\) (\(.*\))/\1 (\2)/p' <<<"$sum" | sed 's/ of / \/ /;s/ lines//')
  br=$(sed -n 's/^ *branches\.*: *\([0-9.]*\)% (\(.*\))/\1/p' <<<"$sum")
  brn=$(sed -n 's/^ *branches\.*: *[0-9.]*% (\([0-9]*\) of \([0-9]*\).*/\1\/\2/p' <<<"$sum")
  floor=${FLOOR[$dir]:-}
  mark=""
  if [ -n "$floor" ] && [ -n "$br" ]; then
    if awk -v b="$br" -v f="$floor" 'BEGIN { exit !(b < f) }'; then mark="BELOW"; fail=1; else mark="ok"; fi
  fi
  printf '%-10s %7s %8s%% %15s %6s %s\n' "$dir" "${lines%% *}" "${br:-?}" "($brn)" \
    "${floor:+$floor%}" "$mark"
done
genhtml "${RC[@]}" --quiet --branch-coverage --output-directory "$B/coverage" "$B/cov.info" \
  >/dev/null 2>&1 && echo "report: $B/coverage/index.html"
[ "$test_rc" -eq 0 ] || { echo "coverage: some tests failed (figures still printed)" >&2; exit 1; }
[ "$fail" -eq 0 ] || { echo "coverage: a module is below its branch floor" >&2; exit 1; }
