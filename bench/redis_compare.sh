#!/usr/bin/env bash
# Side-by-side redis-benchmark of redis-server (Debian) and allotd on loopback ports.
#
#   bench/redis_compare.sh [--threads N] [--requests N] [--clients N] [--rounds N]
#                          [--rows "set:1 get:16 set:1:1000 sismember:16 ..."] [--allotd PATH]
#
# Both run memory-only (redis: --appendonly no; allotd: --durability none); the durability
# comparison is the WAL issue's.
# For each row TEST:PIPELINE[:CLIENTS] (default: SET, GET, INCR at -P 1 and -P 16 with 50
# clients, SET and GET with 1000 clients at -P 1, SADD and SISMEMBER at -P 1 and -P 16) both
# servers run the same redis-benchmark (-r 100000: keys spread over every shard),
# interleaved (redis, allotd, redis, allotd, ...) --rounds times, and each row prints the
# median of the rounds of
# requests/s, p50/p99 latency, the server's CPU time per request (utime+stime from
# /proc/PID/stat before and after the run) and the allotd/redis ratios.
# On a 2-core machine redis-benchmark itself saturates a core at -P 1, so those rows
# compare CPU per request rather than throughput; the -P 16 rows are server-bound.
set -euo pipefail

threads=1
requests=200000
clients=50
rounds=1
rows="set:1 get:1 incr:1 set:16 get:16 incr:16 set:1:1000 get:1:1000 sadd:1 sismember:1 sadd:16 sismember:16"
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --rows) rows="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
command -v redis-benchmark >/dev/null || { echo "redis-benchmark not found" >&2; exit 1; }
[[ -x "$allotd" ]] || { echo "allotd not built at $allotd" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
redis_port=$(free_port)
allot_port=$(free_port)
tmp=$(mktemp -d /tmp/redis_compare.XXXXXX)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
redis_pid=$!
"$allotd" --port "$allot_port" --threads "$threads" --dir "$tmp" --durability none >"$tmp/allotd.log" 2>&1 &
allot_pid=$!
cleanup() {
  kill "$redis_pid" "$allot_pid" 2>/dev/null || true
  wait "$redis_pid" "$allot_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for p in "$redis_port" "$allot_port"; do
  for _ in $(seq 100); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.05; done
done

ticks_per_s=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run PORT PID TEST PIPELINE CLIENTS -> "rps p50 p99 cpu_us_per_request"
run() {
  local port=$1 pid=$2 test=$3 pipeline=$4 nclients=$5
  local before after line
  local -a what=(-t "$test")
  # redis-benchmark has no SISMEMBER test: send the command itself (same key space as SADD).
  [[ "$test" == sismember ]] && what=(SISMEMBER myset "element:__rand_int__")
  before=$(cpu_ticks "$pid")
  line=$(redis-benchmark -p "$port" -n "$requests" -c "$nclients" -P "$pipeline" \
    -r 100000 --csv "${what[@]}" 2>/dev/null | grep -v '^"test"' | head -1)
  after=$(cpu_ticks "$pid")
  # CSV: "test","rps","avg","min","p50","p95","p99","max"
  echo "$line" | tr -d '"' | awk -F, -v b="$before" -v a="$after" -v hz="$ticks_per_s" \
    -v n="$requests" '{ printf "%s %s %s %.3f\n", $2, $5, $7, (a - b) * 1e6 / hz / n }'
}

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

printf "allotd threads=%s, requests=%s, rounds=%s (medians)\n" "$threads" "$requests" "$rounds"
printf "%-9s %3s %5s | %10s %6s %6s %8s | %10s %6s %6s %8s | %6s %6s\n" test P conns \
  "redis rps" p50 p99 "cpu us" "allot rps" p50 p99 "cpu us" "rps x" "cpu x"
for row in $rows; do
  IFS=: read -r test pipeline nclients <<<"$row"
  nclients=${nclients:-$clients}
  : >"$tmp/r.txt"
  : >"$tmp/a.txt"
  for _ in $(seq "$rounds"); do
    run "$redis_port" "$redis_pid" "$test" "$pipeline" "$nclients" >>"$tmp/r.txt"
    run "$allot_port" "$allot_pid" "$test" "$pipeline" "$nclients" >>"$tmp/a.txt"
  done
  col() { awk -v c="$2" '{ print $c }' "$1" | median; }
  awk -v t="$test" -v p="$pipeline" -v c="$nclients" \
    -v rr="$(col "$tmp/r.txt" 1)" -v r5="$(col "$tmp/r.txt" 2)" -v r9="$(col "$tmp/r.txt" 3)" \
    -v rc="$(col "$tmp/r.txt" 4)" -v ar="$(col "$tmp/a.txt" 1)" -v a5="$(col "$tmp/a.txt" 2)" \
    -v a9="$(col "$tmp/a.txt" 3)" -v ac="$(col "$tmp/a.txt" 4)" 'BEGIN {
      printf "%-9s %3s %5s | %10.0f %6.3f %6.3f %8.3f | %10.0f %6.3f %6.3f %8.3f | %6.2f %6.2f\n",
        t, p, c, rr, r5, r9, rc, ar, a5, a9, ac, (rr > 0 ? ar / rr : 0), (rc > 0 ? ac / rc : 0) }'
done
