#!/usr/bin/env bash
# Long run of allotd under a steady write load with checkpoints and log trimming: does
# disk use stay bounded, and does commit latency stay flat while LMDB reuses freed pages?
#
#   bench/wal_longrun.sh [--seconds N] [--interval S] [--keys N] [--checkpoint-records N]
#
# Runs redis-benchmark SET (random keys out of --keys, 50 clients, -P 16) against allotd
# with `durability always` for --seconds, and every --interval seconds prints: elapsed
# time, writes/s over the interval, records in the log, the log's LMDB file size, the
# checkpoint store's file size, checkpoints so far, average commit latency over the
# interval (wal_commit_us_sum / wal_groups deltas), records per group, slowest commit.
set -euo pipefail

seconds=120
interval=10
keys=100000
ckpt_records=200000
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --keys) keys="$2"; shift 2 ;;
    --checkpoint-records) ckpt_records="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d /tmp/wal_longrun.XXXXXX)
"$allotd" --port "$port" --threads 2 --dir "$tmp" --durability always \
  --checkpoint-log-records "$ckpt_records" --checkpoint-interval-s 0 >"$tmp/allotd.log" 2>&1 &
pid=$!
bench_pid=""
cleanup() {
  [[ -n "$bench_pid" ]] && kill "$bench_pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
for _ in $(seq 200); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.05; done

info() { redis-cli -p "$port" INFO persistence | tr -d '\r' | awk -F: -v k="$1" '$1==k {print $2}'; }
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

redis-benchmark -p "$port" -t set -r "$keys" -n 2000000000 -c 50 -P 16 -q >/dev/null 2>&1 &
bench_pid=$!
printf "%6s %9s %9s %11s %11s %5s %9s %7s %9s\n" \
  t_s writes/s log_recs log_file_MB ckpt_file_MB ckpts commit_us rec/grp max_us
prev_rec=$(info wal_records); prev_grp=$(info wal_groups); prev_sum=$(info wal_commit_us_sum)
for ((t = interval; t <= seconds; t += interval)); do
  sleep "$interval"
  rec=$(info wal_records); grp=$(info wal_groups); sum=$(info wal_commit_us_sum)
  dr=$((rec - prev_rec)); dg=$((grp - prev_grp)); ds=$((sum - prev_sum))
  avg=0; per=0
  if ((dg > 0)); then avg=$((ds / dg)); per=$((dr / dg)); fi
  printf "%6d %9d %9s %11.1f %11.1f %5s %9d %7d %9s\n" "$t" $((dr / interval)) \
    "$(info wal_log_records)" "$(echo "$(size "$tmp/data.mdb") / 1048576" | bc -l)" \
    "$(echo "$(size "$tmp/checkpoint/data.mdb") / 1048576" | bc -l)" "$(info checkpoints)" \
    "$avg" "$per" "$(info wal_commit_us_max)"
  prev_rec=$rec; prev_grp=$grp; prev_sum=$sum
done
