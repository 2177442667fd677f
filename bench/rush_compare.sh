#!/usr/bin/env bash
# The flash-sale presets side by side: redis-server (Debian) running the seeds' Lua
# scripts, and allotd with its native INV.* commands (and with the same Lua scripts when
# it has scripting), all started here on loopback ports, driven by build/tools/allot-rush.
#
#   bench/rush_compare.sh [--threads N] [--connections N] [--presets "seed-200 seed-5000@0 ..."]
#                         [--allotd PATH] [--rush PATH] [-- extra allot-rush flags]
#
# A preset as `name@W` runs it with --window-s W: the presets' own windows make arrivals,
# not the server, set the pace (seed-quota: 9,300 orders/s), so `@0` (everyone at once,
# as fast as the server answers) is the throughput comparison.
#
# Servers: redis-server memory-only (--appendonly no); allotd twice, memory-only
# (--durability none) and with durable acknowledgements (--durability always: a reply
# leaves only after its WAL commit). Lua rows on allotd run only if SCRIPT LOAD works there
# (otherwise a note is printed). Each row is one allot-rush run (--json); the table shows
# throughput over the rush, latency (send to reply), oversold, duplicate buyers, whether
# every check passed, the users' wait (arrival to first answer, ms, incl. queueing for a
# pooled connection), the generator's own CPU per request (user + sys, microseconds), the
# server's CPU seconds during the run, and allotd/redis ratios against the redis row of the
# preset.
set -euo pipefail

threads=2
connections=1000
presets="seed-200 seed-5000 seed-quota seed-200@0 seed-5000@0 seed-quota@0"
root="$(cd "$(dirname "$0")/.." && pwd)"
allotd="$root/build/server/allotd"
rush="$root/build/tools/allot-rush"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --presets) presets="$2"; shift 2 ;;
    --allotd) allotd="$2"; shift 2 ;;
    --rush) rush="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v redis-server >/dev/null || { echo "redis-server not found" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "redis-cli not found" >&2; exit 1; }
[[ -x "$allotd" ]] || { echo "allotd not built at $allotd" >&2; exit 1; }
[[ -x "$rush" ]] || { echo "allot-rush not built at $rush" >&2; exit 1; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
tmp=$(mktemp -d /tmp/rush_compare.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --maxclients 20000 \
  --dir "$tmp" --daemonize no >"$tmp/redis.log" 2>&1 &
redis_pid=$!; pids+=("$redis_pid")
none_port=$(free_port)
mkdir -p "$tmp/none" "$tmp/always"
"$allotd" --port "$none_port" --threads "$threads" --dir "$tmp/none" --durability none \
  --maxclients 20000 >"$tmp/allotd-none.log" 2>&1 &
none_pid=$!; pids+=("$none_pid")
always_port=$(free_port)
"$allotd" --port "$always_port" --threads "$threads" --dir "$tmp/always" --durability always \
  --maxclients 20000 >"$tmp/allotd-always.log" 2>&1 &
always_pid=$!; pids+=("$always_pid")
for p in "$redis_port" "$none_port" "$always_port"; do
  for _ in $(seq 200); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.05; done
done

allotd_lua=0
if [[ "$(redis-cli -p "$none_port" SCRIPT LOAD 'return 1' 2>&1)" =~ ^[0-9a-f]{40}$ ]]; then
  allotd_lua=1
else
  echo "note: allotd has no SCRIPT LOAD yet ($(redis-cli -p "$none_port" SCRIPT LOAD 'return 1' 2>&1 | head -1)); its Lua rows are skipped"
fi

ticks_per_s=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run LABEL PORT PID PRESET MODE -> appends "LABEL PRESET MODE SERVER_CPU_S JSON" to results
results="$tmp/results"
: >"$results"
run() {
  local label=$1 port=$2 pid=$3 preset=$4 mode=$5 before after json rc window=()
  [[ "$preset" == *@* ]] && window=(--window-s "${preset#*@}")
  before=$(cpu_ticks "$pid")
  set +e
  json=$("$rush" --port "$port" --preset "${preset%@*}" --mode "$mode" \
    --connections "$connections" "${window[@]}" --json --quiet "${extra[@]}" 2>"$tmp/rush.err")
  rc=$?
  set -e
  after=$(cpu_ticks "$pid")
  if [[ -z "$json" ]]; then
    echo "run $label $preset $mode failed (exit $rc): $(cat "$tmp/rush.err")" >&2
    return
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$preset" "$mode" \
    "$(awk -v a="$after" -v b="$before" -v hz="$ticks_per_s" 'BEGIN{printf "%.2f", (a-b)/hz}')" \
    "$json" >>"$results"
}

for preset in $presets; do
  case "$preset" in
    seed-5000*) lua_mode=lua-hold; native_mode=hold ;;
    *) lua_mode=lua; native_mode=buy ;;
  esac
  run redis "$redis_port" "$redis_pid" "$preset" "$lua_mode"
  run allotd-none "$none_port" "$none_pid" "$preset" "$native_mode"
  run allotd-always "$always_port" "$always_pid" "$preset" "$native_mode"
  if [[ $allotd_lua == 1 ]]; then
    run allotd-none "$none_port" "$none_pid" "$preset" "$lua_mode"
  fi
done

echo "allotd threads=$threads, connections=$connections, redis-server $(redis-server --version | awk '{print $3}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$results" <<'PY'
import json, sys
rows = []
for line in open(sys.argv[1]):
    label, preset, mode, server_cpu, js = line.rstrip("\n").split("\t", 4)
    rows.append((label, preset, mode, float(server_cpu), json.loads(js)))
hdr = ("preset", "server", "mode", "rps", "p50", "p99", "p99.9", "max", "wait p99", "oversold",
       "dups", "checks", "gen us/req", "srv cpu s", "rps x", "p99 x")
fmt = "%-12s %-13s %-8s %8s %7s %7s %7s %7s %8s %8s %4s %6s %10s %9s %6s %6s"
print(fmt % hdr)
def ratio(a, b):
    if not b:
        return "-"
    x = a / b
    return "%.2f" % x if x >= 0.1 else "%.3f" % x

base = {}
for label, preset, mode, cpu, j in rows:
    if label == "redis":
        base[preset] = j
for label, preset, mode, cpu, j in rows:
    lat = j["latency_ms"]
    b = base.get(preset)
    rx = ratio(j["throughput_rps"], b["throughput_rps"]) if b and label != "redis" else "-"
    px = ratio(lat["p99"], b["latency_ms"]["p99"]) if b and label != "redis" else "-"
    print(fmt % (preset, label, mode, "%.0f" % j["throughput_rps"], "%.2f" % lat["p50"],
                 "%.2f" % lat["p99"], "%.2f" % lat["p999"], "%.2f" % lat["max"], "%.0f" % j["user_wait_ms"]["p99"], j["oversold"],
                 j["duplicate_buyers"], "pass" if j["passed"] else "FAIL",
                 "%.1f" % j["generator"]["cpu_us_per_request"], "%.2f" % cpu, rx, px))
PY
