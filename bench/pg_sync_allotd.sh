#!/bin/bash
# PostgreSQL sync against the real allotd (docs/benchmarks.md, "PostgreSQL sync").
#   bench/pg_sync_allotd.sh sell {off|on|down}   redis-benchmark INV.BUY, sync off/on/unreachable
#   bench/pg_sync_allotd.sh trickle              400k sales, then time PostgreSQL's catch-up
# PG_URL (default postgresql://postgres@127.0.0.1:55432/postgres) must reach a PostgreSQL
# where the schemas bench/bench2 may be dropped and created.
set -u
cd "$(dirname "$0")/.."
PG_URL=${PG_URL:-postgresql://postgres@127.0.0.1:55432/postgres}
ALLOTD=build/server/allotd
port=16400
dir=$(mktemp -d /tmp/allot_pgbench_XXXXXX)
start() {  # $@: extra allotd flags
  $ALLOTD --port $port --dir "$dir" --threads 2 --durability everysec --logfile "$dir/log" "$@" &
  pid=$!
  sleep 1
}
stop() { kill $pid; wait $pid; rm -rf "$dir"; }
info() { redis-cli -p $port INFO persistence | tr -d '\r' | grep -E "$1" | paste -sd' '; }

if [ "$1" = sell ]; then
  case "$2" in
    off) start ;;
    down) start --pg-url postgresql://postgres@127.0.0.1:1/postgres ;;
    on) psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS bench CASCADE" 2>/dev/null
        start --pg-url "$PG_URL" --pg-schema bench ;;
  esac
  redis-cli -p $port INV.CREATE item 1000000000000 >/dev/null
  redis-benchmark -p $port -c 50 -n 400000 -P 16 -r 1000000 -q INV.BUY item user:__rand_int__ \
    2>&1 | tr '\r' '\n' | grep "requests per second" | tail -1
  sleep 1.5
  info "pg_(transactions|statements|purchase_rows_sent|lag_records)"
  stop
elif [ "$1" = trickle ]; then
  psql -q "$PG_URL" -c "DROP SCHEMA IF EXISTS bench2 CASCADE" 2>/dev/null
  start --pg-url "$PG_URL" --pg-schema bench2
  for i in 0 1 2 3; do redis-cli -p $port INV.CREATE item$i 1000000000000 >/dev/null; done
  sleep 1.5
  s0=$(date +%s.%N)
  bp=""
  for i in 0 1 2 3; do
    (redis-benchmark -p $port -c 12 -n 100000 -P 16 -r 1000000 -q INV.BUY item$i \
      user:__rand_int__ 2>&1 | tr '\r' '\n' | grep "requests per second" | tail -1) &
    bp="$bp $!"
  done
  wait $bp
  s1=$(date +%s.%N)
  until [ "$(info pg_caught_up:)" = "pg_caught_up:1" ]; do sleep 0.1; done
  s2=$(date +%s.%N)
  info "pg_(transactions|statements|purchase_rows_sent)"
  echo "sell_s=$(echo "$s1 - $s0" | bc) catchup_after_load_s=$(echo "$s2 - $s1" | bc)"
  psql -t "$PG_URL" -c "SELECT count(*) FROM bench2.purchases"
  stop
else
  echo "usage: $0 sell {off|on|down} | trickle" >&2
  exit 1
fi
