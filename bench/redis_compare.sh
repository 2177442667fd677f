#!/usr/bin/env bash
# Side-by-side redis-benchmark of redis-server (Debian) and allotd on loopback ports.
#
#   bench/redis_compare.sh [--threads N] [--requests N] [--clients N] [--allotd PATH]
#
# Both run memory-only (redis: --appendonly no; allotd: --durability none); the durability
# comparison is the WAL issue's.
# For each workload (SET, GET, INCR at -P 1 and -P 16) both servers run the same
# redis-benchmark, interleaved (redis, allotd, redis, allotd, ...), and each row prints
# requests/s, p50/p99 latency, the server's CPU time per request (utime+stime from
# /proc/PID/stat before and after the run) and the allotd/redis ratios.
# On a 2-core machine redis-benchmark itself saturates a core at -P 1, so those rows
# compare CPU per request rather than throughput; the -P 16 rows are server-bound.
set -euo pipefail

threads=1
requests=200000
clients=50
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
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

# run PORT PID TEST PIPELINE -> "rps p50 p99 cpu_us_per_request"
run() {
  local port=$1 pid=$2 test=$3 pipeline=$4
  local before after line
  before=$(cpu_ticks "$pid")
  line=$(redis-benchmark -p "$port" -t "$test" -n "$requests" -c "$clients" -P "$pipeline" \
    -r 100000 --csv 2>/dev/null | grep -v '^"test"' | head -1)
  after=$(cpu_ticks "$pid")
  # CSV: "test","rps","avg","min","p50","p95","p99","max"
  echo "$line" | tr -d '"' | awk -F, -v b="$before" -v a="$after" -v hz="$ticks_per_s" \
    -v n="$requests" '{ printf "%s %s %s %.3f\n", $2, $5, $7, (a - b) * 1e6 / hz / n }'
}

printf "allotd threads=%s, requests=%s, clients=%s\n" "$threads" "$requests" "$clients"
printf "%-6s %3s | %10s %6s %6s %8s | %10s %6s %6s %8s | %6s %6s\n" test P \
  "redis rps" p50 p99 "cpu us" "allot rps" p50 p99 "cpu us" "rps x" "cpu x"
for pipeline in 1 16; do
  for test in set get incr; do
    read -r r_rps r_p50 r_p99 r_cpu <<<"$(run "$redis_port" "$redis_pid" "$test" "$pipeline")"
    read -r a_rps a_p50 a_p99 a_cpu <<<"$(run "$allot_port" "$allot_pid" "$test" "$pipeline")"
    awk -v t="$test" -v p="$pipeline" -v rr="$r_rps" -v r5="$r_p50" -v r9="$r_p99" \
      -v rc="$r_cpu" -v ar="$a_rps" -v a5="$a_p50" -v a9="$a_p99" -v ac="$a_cpu" 'BEGIN {
        printf "%-6s %3s | %10.0f %6s %6s %8.3f | %10.0f %6s %6s %8.3f | %6.2f %6.2f\n",
          t, p, rr, r5, r9, rc, ar, a5, a9, ac, (rr > 0 ? ar / rr : 0), (rc > 0 ? ac / rc : 0) }'
  done
done
