#!/usr/bin/env bash
# Builds and runs the tests under sanitizers, each in its own build directory.
#
#   tools/sanitize.sh asan   AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/):
#                            the unit and integration tests, allotd included
#   tools/sanitize.sh tsan   ThreadSanitizer (build-tsan/): the concurrency-labelled
#                            tests and what they link
#
# Any report fails the run: ASan/UBSan abort on the first finding (-fno-sanitize-recover
# in CMakeLists.txt), TSan exits non-zero (halt_on_error). The TSan suppressions and why
# each is there: tools/sanitizers/tsan.supp. -O1 keeps the builds quick and the stacks
# readable; -g1 gives file:line.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:?usage: tools/sanitize.sh asan|tsan}"
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"
flags=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O1 -g1"
  -DCMAKE_C_FLAGS_RELEASE="-O1 -g1" -DALLOT_BUILD_BENCH=OFF)
supp="$PWD/tools/sanitizers"

case "$kind" in
  asan)
    cmake -S . -B build-asan "${flags[@]}" -DALLOT_SANITIZE=address,undefined >/dev/null
    cmake --build build-asan -j2
    cd build-asan
    # embedded_consumer rebuilds the library without sanitizers: it runs in the plain build.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      LSAN_OPTIONS=suppressions="$supp/lsan.supp" \
      ctest --output-on-failure -j2 --timeout 900 -L 'unit|integration' -E embedded_consumer
    ;;
  tsan)
    cmake -S . -B build-tsan "${flags[@]}" -DALLOT_SANITIZE=thread >/dev/null
    # Only the concurrency tests (tests/CMakeLists.txt labels them by name).
    targets=()
    for f in tests/*_test.cc; do
      name="$(basename "$f" .cc)"
      if [[ "$name" =~ concurrency|stress ]]; then targets+=("$name"); fi
    done
    cmake --build build-tsan -j2 --target "${targets[@]}"
    cd build-tsan
    TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp" \
      ctest --output-on-failure -j2 --timeout 900 -L concurrency
    ;;
  *)
    echo "usage: tools/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac
