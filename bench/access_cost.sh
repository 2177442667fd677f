#!/bin/bash
# The server's CPU time per request (ns) for one redis-benchmark test, which stays
# meaningful when other jobs load the machine (docs/access-control.md, "Costs").
# usage: bench/access_cost.sh <allotd binary> <port> <set|get> [redis-benchmark args]
#   e.g. bench/access_cost.sh build/server/allotd 7000 set --user app -a apppw
# The server gets a config with `user app on >apppw ~* +@all -@admin -@dangerous`.
set -euo pipefail
BIN=$1; PORT=$2; T=$3; shift 3
D=$(mktemp -d /tmp/allot_access_cost.XXXX)
printf 'user app on >apppw ~* +@all -@admin -@dangerous\n' > $D/conf
$BIN $D/conf --port $PORT --threads 1 --durability none --dir $D --logfile $D/log &
PID=$!
sleep 0.5
N=400000
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$PID/stat)
redis-benchmark -p $PORT -t $T -n $N -P 16 -c 50 -r 100000 -q "$@" >/dev/null 2>&1
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$PID/stat)
TICK=$(getconf CLK_TCK)
echo "$(( ( (u1-u0)+(s1-s0) ) * 1000000000 / TICK / N ))"
kill $PID; wait $PID 2>/dev/null; rm -rf $D
