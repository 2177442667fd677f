#!/usr/bin/env bash
# allotd (durability always / everysec / none) against redis-server (appendfsync always /
# everysec / --appendonly no, with --auto-aof-rewrite-percentage 0) on the same machine:
# redis-benchmark -t set (and incr) with -c CLIENTS -P PIPELINE, one server at a time.
#
#   bench/durability_compare.sh [--requests N] [--clients N] [--pipeline N] [--tests set,incr]
set -euo pipefail
requests=200000
clients=50
pipeline=16
tests=set
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --requests) requests="$2"; shift 2 ;;
    --clients) clients="$2"; shift 2 ;;
    --pipeline) pipeline="$2"; shift 2 ;;
    --tests) tests="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tmp=$(mktemp -d /tmp/durability_compare.XXXXXX)
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

bench() {  # name, command line of the server
  local name=$1; shift
  rm -rf "$tmp/d"; mkdir -p "$tmp/d"
  "$@" >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do redis-cli -p "$port" PING >/dev/null 2>&1 && break; sleep 0.05; done
  local out="" try
  # On a loaded machine redis-benchmark now and then gets no connection: try again.
  for try in 1 2 3; do
    out=$(redis-benchmark -p "$port" -t "$tests" -r 1000000 -n "$requests" -c "$clients" \
      -P "$pipeline" -q 2>/dev/null | tr '\r' '\n' | grep -E "requests per second" || true)
    [[ -n "$out" ]] && break
  done
  [[ -n "$out" ]] || out="no result (redis-benchmark failed 3 times)"
  echo "$out" | sed "s/^/$name  /"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
common_redis=(redis-server --port "$port" --bind 127.0.0.1 --save '' --dir "$tmp/d"
  --auto-aof-rewrite-percentage 0)
bench "redis appendfsync always  " "${common_redis[@]}" --appendonly yes --appendfsync always
bench "redis appendfsync everysec" "${common_redis[@]}" --appendonly yes --appendfsync everysec
bench "redis appendonly no       " "${common_redis[@]}" --appendonly no
# allotd always with LMDB's own commit (data pages fdatasynced, then the meta page written
# O_DSYNC: two flushes per group; engine/wal/wal.h, ALLOT_WAL_PIPELINE_META=0), to compare
# with the default (one fdatasync per group) in the same run.
ALLOT_WAL_PIPELINE_META=0 bench "allotd always LMDB meta sync" "$allotd" --port "$port" \
  --threads 2 --dir "$tmp/d" --durability always --logfile "$tmp/d/allotd.log"
for mode in always everysec none; do
  bench "allotd durability $mode$(printf '%*s' $((9 - ${#mode})) '')" "$allotd" --port "$port" \
    --threads 2 --dir "$tmp/d" --durability "$mode" --logfile "$tmp/d/allotd.log"
done
