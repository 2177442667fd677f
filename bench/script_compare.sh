#!/usr/bin/env bash
# The seed's flash-sale script via EVALSHA on redis-server (Debian) and on allotd, and
# native INV.BUY on allotd for the same rush (issue 5, part 7).
#
#   bench/script_compare.sh [--threads N] [--requests N] [--allotd PATH] [--tagged]
#
# Hot keys: every request hits the same two keys (ticket_counter, purchased_users) with a
# new random user; the stock is large enough never to sell out, so every call runs the
# whole script (GET, SISMEMBER, DECR, SADD). --tagged uses {sale}:tickets/{sale}:users
# (one shard: the fast path); without it the keys are the seed's, which land on two
# shards when allotd runs 2+ threads (every call is then a multi-shard transaction).
# Rows: 50 clients at -P 16 (server-bound) and 1000 clients at -P 1. Both servers are
# memory-only; redis-benchmark runs interleaved (redis, allotd, INV.BUY).
set -euo pipefail

threads=1
requests=200000
tagged=0
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --requests) requests="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    --tagged) tagged=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
redis_port=$(free_port)
allot_port=$(free_port)
tmp=$(mktemp -d /tmp/script_compare.XXXXXX)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$tmp" --daemonize no --maxclients 10000 >"$tmp/redis.log" 2>&1 &
redis_pid=$!
"$allotd" --port "$allot_port" --threads "$threads" --dir "$tmp" --durability none \
  >"$tmp/allotd.log" 2>&1 &
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

script="$root/tests/scripts/seed002_flash_sale.lua"
if [[ $tagged == 1 ]]; then k1='{sale}:tickets'; k2='{sale}:users'; else k1=ticket_counter; k2=purchased_users; fi
for p in "$redis_port" "$allot_port"; do
  sha=$(redis-cli -p "$p" SCRIPT LOAD "$(cat "$script")")
  redis-cli -p "$p" SET "$k1" 1000000000000 >/dev/null
done
redis-cli -p "$allot_port" INV.CREATE tickets 1000000000000 LIMIT 1 >/dev/null

ticks_per_s=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run PORT PID CLIENTS PIPELINE CMD... -> "rps p50 p99 cpu_us_per_request"
run() {
  local port=$1 pid=$2 clients=$3 pipeline=$4
  shift 4
  local before after line
  before=$(cpu_ticks "$pid")
  line=$(redis-benchmark -p "$port" -n "$requests" -c "$clients" -P "$pipeline" -r 100000000 \
    --csv "$@" 2>/dev/null | grep -v '^"test"' | head -1)
  after=$(cpu_ticks "$pid")
  echo "$line" | tr -d '"' | awk -F, -v b="$before" -v a="$after" -v hz="$ticks_per_s" \
    -v n="$requests" '{ printf "%s %s %s %.3f\n", $2, $5, $7, (a - b) * 1e6 / hz / n }'
}

printf "allotd threads=%s, requests=%s, keys %s %s\n" "$threads" "$requests" "$k1" "$k2"
printf "%-5s %3s | %-22s | %-22s | %-22s | %6s %6s\n" clients P "redis EVALSHA rps/p50/cpu" \
  "allotd EVALSHA" "allotd INV.BUY" "eval x" "buy x"
for cfg in "50 16" "1000 1"; do
  read -r clients pipeline <<<"$cfg"
  read -r r_rps r_p50 r_p99 r_cpu <<<"$(run "$redis_port" "$redis_pid" "$clients" "$pipeline" \
    EVALSHA "$sha" 2 "$k1" "$k2" user:__rand_int__)"
  read -r a_rps a_p50 a_p99 a_cpu <<<"$(run "$allot_port" "$allot_pid" "$clients" "$pipeline" \
    EVALSHA "$sha" 2 "$k1" "$k2" user:__rand_int__)"
  read -r b_rps b_p50 b_p99 b_cpu <<<"$(run "$allot_port" "$allot_pid" "$clients" "$pipeline" \
    INV.BUY tickets user:__rand_int__)"
  awk -v c="$clients" -v p="$pipeline" -v rr="$r_rps" -v r5="$r_p50" -v rc="$r_cpu" \
    -v ar="$a_rps" -v a5="$a_p50" -v ac="$a_cpu" -v br="$b_rps" -v b5="$b_p50" -v bc="$b_cpu" 'BEGIN {
      printf "%-5s %3s | %8.0f %6s %6.2f | %8.0f %6s %6.2f | %8.0f %6s %6.2f | %6.2f %6.2f\n",
        c, p, rr, r5, rc, ar, a5, ac, br, b5, bc, ar / rr, br / rr }'
done
