#!/usr/bin/env bash
# Runs every cargo-fuzz target (or the ones named) for SECONDS each, from
# the committed seeds (fuzz/seeds/<target>) plus the working corpus
# (fuzz/corpus/<target>, not committed), minimises the working corpus and
# adds its smallest SEEDS_KEEP inputs to fuzz/seeds/<target>. Prints the executions per target,
# the figure RELIABILITY.md reports.
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# A crash leaves its input in fuzz/artifacts/<target>/; copy it to
# fuzz/regressions/<target>/ so that the stable test suite replays it.
#
#   scripts/fuzz.sh                 # every target, 180 s each
#   SECONDS_EACH=30 scripts/fuzz.sh wire_v5 redirect
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
each="${SECONDS_EACH:-180}"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-target}/fuzz}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# No sanitizer: the code under test forbids `unsafe`, so AddressSanitizer
# finds nothing that debug assertions and overflow checks (on) do not,
# and it halves the executions per second on this 2-core machine.
cargo +nightly fuzz build -s none --target-dir "$target_dir"
printf '%-14s %12s %8s %s\n' target executions corpus result
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "seeds/$t" "artifacts/$t"
  bin="$target_dir/x86_64-unknown-linux-gnu/release/$t"
  log="artifacts/$t/last-run.log"
  result=ok
  "$bin" "corpus/$t" "seeds/$t" -max_total_time="$each" -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=10 -max_len=65536 -artifact_prefix="artifacts/$t/" >"$log" 2>&1 || result="CRASH (see $log)"
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  # Minimise the working corpus (only inputs that add coverage stay), then
  # commit-size it: the SEEDS_KEEP smallest new inputs join the seeds, so
  # that the committed corpus stays a few hundred KB at most.
  rm -rf "corpus.min.$t" && mkdir -p "corpus.min.$t"
  "$bin" -merge=1 "corpus.min.$t" "corpus/$t" >/dev/null 2>&1 || true
  if [ -n "$(ls -A "corpus.min.$t")" ]; then rm -rf "corpus/$t" && mv "corpus.min.$t" "corpus/$t"; else rm -rf "corpus.min.$t"; fi
  ls -S -r "corpus/$t" | head -n "${SEEDS_KEEP:-120}" | while read -r f; do cp -n "corpus/$t/$f" "seeds/$t/"; done
  printf '%-14s %12s %8s %s\n' "$t" "$execs" "$(ls "seeds/$t" | wc -l)" "$result"
done
