#!/usr/bin/env bash
# One allotd run under redis-benchmark, with the CPU each of its threads used (shards, the
# log writer) and the WAL's INFO persistence counters, for A/B runs of the log's cost:
#
#   bench/durability_cpu.sh ALLOTD MODE THREADS [perf]
#   env: N (requests, 1000000), T (test, set), C (clients, 50), P (pipeline, 16)
#
# Prints: rps, CPU us per request (whole process), wal_records/groups/syncs/commit_us_avg
# and each thread's utime+stime in clock ticks (/proc/PID/task/*/stat; divide by N).
# With a 4th argument, perf records 4 s of the server (cpu-clock, dwarf call graphs)
# into /tmp/perf.MODE.THREADS.data.
set -uo pipefail
BIN=$1; MODE=$2; TH=$3; PERF=${4:-}
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
D=$(mktemp -d /tmp/durability_cpu.XXXXXX)
"$BIN" --port "$PORT" --bind 127.0.0.1 --threads "$TH" --dir "$D" --durability "$MODE" \
  --logfile "$D/log" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do redis-cli -p "$PORT" PING >/dev/null 2>&1 && break; sleep 0.05; done
N=${N:-1000000}; T=${T:-set}; C=${C:-50}; P=${P:-16}
before=$(awk '{print $14+$15}' "/proc/$PID/stat")
PP=""
if [[ -n "$PERF" ]]; then
  (sleep 1; perf record -e cpu-clock --call-graph dwarf -o "/tmp/perf.$MODE.$TH.data" -p "$PID" \
    -- sleep 4 >/dev/null 2>&1) &
  PP=$!
fi
out=$(redis-benchmark -p "$PORT" -t "$T" -r 1000000 -n "$N" -c "$C" -P "$P" -q 2>/dev/null |
  tr '\r' '\n' | grep "per second")
after=$(awk '{print $14+$15}' "/proc/$PID/stat")
thr=""
for t in /proc/$PID/task/*; do thr="$thr $(cat "$t/comm"):$(awk '{print $14+$15}' "$t/stat")"; done
info=$(redis-cli -p "$PORT" info persistence | tr -d '\r' |
  grep -E "wal_records:|wal_groups:|wal_syncs:|wal_commit_us_avg|wal_explicit" | tr '\n' ' ')
cpu=$(python3 -c "print(round(($after-$before)*1e6/$(getconf CLK_TCK)/$N,3))")
echo "$MODE threads=$TH $out cpu_us/req=$cpu $info ticks:$thr"
if [[ -n "$PP" ]]; then wait "$PP"; fi
