#!/usr/bin/env bash
# Installs dependencies, builds everything (Release, -j2, ccache) and runs every test;
# then the hardening stages, each in its own build directory (docs/security.md):
#   tools/sanitize.sh asan   unit + integration tests under ASan + UBSan (build-asan/)
#   tools/sanitize.sh tsan   concurrency tests under TSan (build-tsan/)
#   tools/fuzz.sh 60         every libFuzzer target for 60 s (build-fuzz/, clang)
# This is the README's test command and what .ci/run calls; CI runs every stage.
# Local shortcuts: ALLOT_QUICK=1 stops after the normal tests; ALLOT_FUZZ_SECONDS=n
# changes the time per fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"

timings=()
stage() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "=== $name"
  "$@"
  timings+=("$name: $((SECONDS - start)) s")
  echo "=== $name done in $((SECONDS - start)) s"
}

build_and_test() {
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
  cmake --build build -j2
  (cd build && ctest --output-on-failure -j2 --timeout 900)
}

stage "build + tests" build_and_test
if [ "${ALLOT_QUICK:-0}" = "1" ]; then
  echo "ALLOT_QUICK=1: sanitizers and fuzzing skipped"
else
  stage "asan+ubsan" tools/sanitize.sh asan
  stage "tsan" tools/sanitize.sh tsan
  stage "fuzz" tools/fuzz.sh "${ALLOT_FUZZ_SECONDS:-60}"
fi
printf '%s\n' "${timings[@]}"
