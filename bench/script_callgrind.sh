#!/usr/bin/env bash
# User-space instructions per call under callgrind (issue 5, part 7): the seed's script via
# EVALSHA on redis-server, and SET on redis-server for scale. Each server runs under `valgrind --tool=callgrind`; after a warm-up the counters
# are zeroed (callgrind_control -z), N requests run (redis-benchmark, 1 client, -P 16),
# and the dump's total Ir divided by N is the figure (all threads, kernel time excluded).
#
#   bench/script_callgrind.sh [--requests N] [--allotd PATH]
set -euo pipefail

requests=20000
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
tmp=$(mktemp -d /tmp/script_callgrind.XXXXXX)
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
script="$root/tests/scripts/seed002_flash_sale.lua"

# measure NAME PORT CMD... : prints instructions per request of CMD on the running server
measure() {
  local name=$1 port=$2
  shift 2
  redis-benchmark -p "$port" -n 2000 -c 1 -P 16 -r 100000000 "$@" >/dev/null 2>&1
  callgrind_control -z "$pid" >/dev/null
  redis-benchmark -p "$port" -n "$requests" -c 1 -P 16 -r 100000000 "$@" >/dev/null 2>&1
  rm -f "$tmp"/callgrind.out.*
  callgrind_control -d "$pid" >/dev/null
  sleep 1
  local total
  total=$(cat "$tmp"/callgrind.out.* | awk '/^(summary|totals):/ {s += $2} END {print s}')
  printf "%-28s %10.0f instructions/call\n" "$name" "$(echo "$total / $requests" | bc -l)"
}

start() {  # start PORT CMD...
  local port=$1
  shift
  valgrind --tool=callgrind --callgrind-out-file="$tmp/callgrind.out.%p" "$@" \
    >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.1; done
}

stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
  rm -f "$tmp"/callgrind.out.*
}

port=$(free_port)
start "$port" redis-server --port "$port" --save '' --appendonly no --dir "$tmp"
sha=$(redis-cli -p "$port" SCRIPT LOAD "$(cat "$script")")
redis-cli -p "$port" SET ticket_counter 1000000000000 >/dev/null
measure "redis EVALSHA (seed)" "$port" EVALSHA "$sha" 2 ticket_counter purchased_users \
  user:__rand_int__
measure "redis SET" "$port" SET key:__rand_int__ v
stop

# allotd is not measured here: valgrind 3.19 does not implement io_uring, and allotd's
# reactors (and the engine's) hang under it (docs/benchmarks.md).
