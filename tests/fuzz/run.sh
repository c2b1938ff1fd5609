#!/usr/bin/env bash
# Fuzzes one libFuzzer target briefly (ctest -L fuzz in build-fuzz): its seed
# corpus is copied to a scratch directory (the tree stays as it is) and the
# target runs for PROVENA_FUZZ_SECONDS (default 5) on one job. A crash, leak
# or broken property fails the test; the input that did it is left in the
# scratch directory, whose path is printed.
set -euo pipefail
bin=$1
seeds=$2
secs=${PROVENA_FUZZ_SECONDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/provena-fuzz.XXXXXX")
mkdir -p "$work/corpus"
cp -r "$seeds"/. "$work/corpus/"
mkdir -p "$work/crash"
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="$work/crash/" "$work/corpus" >"$work/log" 2>&1; then
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/log" || true
  rm -rf "$work"
else
  tail -60 "$work/log"
  echo "fuzz: $bin failed; inputs in $work/crash" >&2
  exit 1
fi
