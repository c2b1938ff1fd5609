#!/usr/bin/env bash
# ctest-check.sh BUILD_DIR [ctest args…] — runs ctest in BUILD_DIR, then prints
# how many tests were skipped (exit 77, SKIP_RETURN_CODE) and which. A skipped
# test proved nothing, so with CI=true any skip fails the run; elsewhere it is
# reported and the exit status is ctest's own.
set -uo pipefail
dir=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
(cd "$dir" && ctest "$@") 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
# ctest prints a skipped test twice (its line, and the "did not run" list): count names once.
names=$(grep -E '\*\*\*Skipped' "$log" | sed -E 's/.*Test +#[0-9]+: ([^ ]+) .*/\1/' | sort -u)
skipped=$(printf '%s' "$names" | grep -c . || true)
echo "ctest-check: $skipped skipped in $dir${names:+: $(echo $names)}"
if [ "$rc" -eq 0 ] && [ "$skipped" -gt 0 ] && [ "${CI:-}" = "true" ]; then
  echo "ctest-check: CI=true and $skipped test(s) skipped: failing (a skipped test tested nothing)" >&2
  exit 1
fi
exit "$rc"
