#!/usr/bin/env bash
# Installs dependencies, builds allotd and starts it with the embedded defaults
# (LMDB under ./data, no PostgreSQL), in the foreground. Extra arguments go to allotd.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.ccache}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j2 --target allotd
mkdir -p data
exec build/server/allotd --dir ./data "$@"
