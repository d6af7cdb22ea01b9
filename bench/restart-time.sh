#!/usr/bin/env bash
# How long a node with a long history takes to restart and serve.
#
#   bench/restart-time.sh [--commands 1000000] [--workers 64] [--keys 1000]
#
# Starts a 3-node cluster of the Release build on ports 18081-18083 (HTTP) and 14051-14053 (remoting) in a fresh
# temporary directory, loads it with `paxos-tools bench` (100-byte PUTs) until at least --commands writes were
# acknowledged (each acknowledged write was applied once on every node), then:
#   1. kills node 3 with SIGKILL, starts it again and times (a) until its /status answers and (b) until a
#      linearizable GET through it answers 200 (the node is back in the cluster, has caught up and serves);
#   2. stops the whole cluster with SIGKILL, starts all three and times until a PUT and a GET succeed through
#      each node.
# Prints one JSON line. Needs: dotnet build -c Release src/PaxosActors.Tools (builds the node executable too), curl,
# python3.
set -euo pipefail
cd "$(dirname "$0")/.."
commands=1000000 workers=64 keys=1000
while [[ $# -gt 0 ]]; do
  case $1 in
    --commands) commands=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dll=src/PaxosActors.Node/bin/Release/net10.0/paxos-actors.dll
tools=src/PaxosActors.Tools/bin/Release/net10.0/paxos-tools.dll
for f in "$dll" "$tools"; do
  [[ -f $f ]] || { echo "build first: dotnet build -c Release src/PaxosActors.Tools" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/paxos-restart.XXXXXX)
declare -A pids
endpoints=http://127.0.0.1:18081,http://127.0.0.1:18082,http://127.0.0.1:18083

start_node() {
  local i=$1
  setsid dotnet "$dll" node --node-id "$i" --http-port $((18080 + i)) --remote-port $((14050 + i)) \
    --seeds 127.0.0.1:14051,127.0.0.1:14052,127.0.0.1:14053 --acceptors 1,2,3 --data-dir "$dir" \
    --log-level WARNING >> "$dir/node-$i.log" 2>&1 &
  pids[$i]=$!
}
stop_all() { for i in 1 2 3; do [[ -n ${pids[$i]:-} ]] && kill -KILL "${pids[$i]}" 2>/dev/null || true; done; }
trap 'stop_all; rm -rf "$dir"' EXIT
now() { date +%s.%N; }
# Waits until the command succeeds; prints the seconds since $1.
wait_for() {
  local since=$1; shift
  for _ in $(seq 1 1200); do
    if "$@" > /dev/null 2>&1; then python3 -c "print(round($(now) - $since, 2))"; return; fi
    sleep 0.1
  done
  echo "timed out: $*" >&2; exit 1
}
status_ok() { curl -sf -m 2 "http://127.0.0.1:$((18080 + $1))/status"; }
get_ok() { [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$((18080 + $1))/kv/bench-000001") == 200 ]]; }
put_ok() { [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' -X PUT --data restart "http://127.0.0.1:$((18080 + $1))/kv/restart-probe") == 204 ]]; }

for i in 1 2 3; do start_node "$i"; done
t0=$(now)
ready=$(wait_for "$t0" put_ok 1)
echo "cluster ready in ${ready}s, loading $commands writes with $workers workers" >&2

written=0
while (( written < commands )); do
  left=$((commands - written))
  seconds=$(( left / 3000 + 5 )); (( seconds > 120 )) && seconds=120
  line=$(dotnet "$tools" bench --endpoints "$endpoints" --workers "$workers" --duration "$seconds" --warmup 0 \
    --keys "$keys" --json-only 2>/dev/null)
  ops=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['ops'])" "$line")
  written=$((written + ops))
  echo "  $written acknowledged writes" >&2
done
applied=$(curl -s http://127.0.0.1:18083/status | python3 -c "import json,sys; print(json.load(sys.stdin)['applied_slot'])")
db_mb=$(du -cm "$dir"/node-3.db* | tail -1 | cut -f1)

kill -KILL "${pids[3]}"; wait "${pids[3]}" 2>/dev/null || true
t1=$(now); start_node 3
node_status=$(wait_for "$t1" status_ok 3)
node_serves=$(wait_for "$t1" get_ok 3)
echo "node 3 restarted: /status after ${node_status}s, serving after ${node_serves}s" >&2

stop_all; for i in 1 2 3; do wait "${pids[$i]}" 2>/dev/null || true; done
t2=$(now); for i in 1 2 3; do start_node "$i"; done
all_put=$(wait_for "$t2" put_ok 1)
for i in 2 3; do wait_for "$t2" get_ok "$i" > /dev/null; done
all_serve=$(python3 -c "print(round($(now) - $t2, 2))")
echo "whole cluster restarted: first PUT after ${all_put}s, every node serving after ${all_serve}s" >&2

printf '{"commands":%s,"applied_slots":%s,"node3_files_mb":%s,"node_restart_status_s":%s,"node_restart_serve_s":%s,"cluster_restart_first_put_s":%s,"cluster_restart_all_serve_s":%s}\n' \
  "$written" "$applied" "$db_mb" "$node_status" "$node_serves" "$all_put" "$all_serve"
