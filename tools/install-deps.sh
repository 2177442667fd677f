#!/usr/bin/env bash
# Installs every build and test dependency of Allot from Debian 12 packages.
# Idempotent: apt-get skips what is present; safe to re-run. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  liburing-dev liblmdb-dev lmdb-utils libtbb-dev libboost-dev libfmt-dev
  libpq-dev postgresql liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools libhiredis-dev
  libssl-dev openssl
  clang-format
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian redis-server package starts a system instance on 6379; tests use their own
# ports and do not need it.
echo "install-deps: installed ${missing[*]}"
