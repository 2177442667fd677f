#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a bounded time.
#
#   tools/fuzz.sh [seconds-per-target] [target ...]     (default 60 s, every target)
#
# Fails (exit 1) on any crash, sanitizer report, leak, timeout (> 10 s for one input)
# or out-of-memory (> 2 GB RSS); the input that did it is left in build-fuzz/artifacts/
# and can be replayed with `build-fuzz/fuzz/<target> <file>`. New interesting inputs
# are kept in build-fuzz/corpus/<target>/ (not in the repo), so a later run continues
# where this one stopped; fuzz/corpus/<target>/ is the small seed corpus in the repo.
# docs/security.md has the longer runs. The random seed is fixed (ALLOT_FUZZ_SEED, default
# 1) so that CI, which starts from the repo's corpus, explores the same inputs every run
# and cannot fail on a finding a previous run did not have; set another seed to explore.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(resp_parser_fuzz config_fuzz wal_record_fuzz command_fuzz)
fi
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"

CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DALLOT_FUZZ=ON \
  -DALLOT_BUILD_TESTS=OFF -DALLOT_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_RELEASE="-O1 -gline-tables-only" >/dev/null
cmake --build build-fuzz -j2 --target "${targets[@]}"

mkdir -p build-fuzz/artifacts
failed=()
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t"
  echo "== $t: ${seconds}s"
  # -timeout: one input may take at most 10 s; -rss_limit_mb: the process at most 2 GB.
  if ! ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=tools/sanitizers/lsan.supp \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "build-fuzz/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -seed="${ALLOT_FUZZ_SEED:-1}" \
      -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t-" \
      "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1; then
    tail -n 60 "build-fuzz/$t.log"
    failed+=("$t")
  else
    grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "build-fuzz/$t.log" | tr '\n' ' '
    echo
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in build-fuzz/artifacts/, logs build-fuzz/<target>.log)"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a finding"
