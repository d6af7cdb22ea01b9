#!/usr/bin/env bash
# The 1-worker write path, hop by hop (BENCHMARKS.md, "The 1-worker path, hop by hop").
#
#   bench/hop-trace.sh [--requests 300] [--warmup 200] [--bench SECONDS] [--pairs N] [--keep-dumps DIR]
#
# Starts a 3-node cluster of the Release build on ports 18281-18283 (HTTP) and 14251-14253 (remoting) in a fresh
# temporary directory with paxos.diagnostics.trace-hops on (PAXOS_TRACE_HOPS=on), finds the leader, and sends
# --requests sequential 100-byte PUTs (one connection, one at a time, after --warmup unrecorded ones) first through the
# leader, then through a follower. For each it reads every node's GET /debug/trace, rebuilds each PUT's critical path
# (backwards from the HTTP reply: which vote or Chosen let the entry node's learner apply it, which journal commit let
# that vote leave, ...) and prints the hops with the median time of each and whether it changed thread (same process)
# or process. The timestamps are Stopwatch ticks (CLOCK_MONOTONIC), comparable across the processes of one machine.
#
# --bench S: afterwards, restarts the cluster with the trace OFF and runs `paxos-tools bench --workers 1` for S seconds
# through the leader and through a follower, --pairs times each, and prints their p50s.
# Needs: dotnet build -c Release src/PaxosActors.Tools, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
requests=300 warmup=200 bench=0 pairs=1 keep=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --requests) requests=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --bench) bench=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --keep-dumps) keep=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dll=src/PaxosActors.Node/bin/Release/net10.0/paxos-actors.dll
tools=src/PaxosActors.Tools/bin/Release/net10.0/paxos-tools.dll
for f in "$dll" "$tools"; do
  [[ -f $f ]] || { echo "build first: dotnet build -c Release src/PaxosActors.Tools" >&2; exit 2; }
done
dir=$(mktemp -d /tmp/paxos-hops.XXXXXX)
declare -A pids

start_node() {
  local i=$1 trace=$2
  PAXOS_TRACE_HOPS=$trace setsid dotnet "$dll" node --node-id "$i" --http-port $((18280 + i)) --remote-port $((14250 + i)) \
    --seeds 127.0.0.1:14251,127.0.0.1:14252,127.0.0.1:14253 --acceptors 1,2,3 --data-dir "$dir/$trace" \
    --log-level WARNING >> "$dir/node-$i.log" 2>&1 &
  pids[$i]=$!
}
stop_all() {
  for i in 1 2 3; do
    if [[ -n ${pids[$i]:-} ]]; then kill -KILL "${pids[$i]}" 2>/dev/null || true; wait "${pids[$i]}" 2>/dev/null || true; fi
    pids[$i]=""
  done
}
trap 'stop_all; rm -rf "$dir"' EXIT
put_ok() { [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' -X PUT --data x "http://127.0.0.1:$((18280 + $1))/kv/hop-probe") == 204 ]]; }
start_cluster() {
  mkdir -p "$dir/$1"
  for i in 1 2 3; do start_node "$i" "$1"; done
  for _ in $(seq 1 600); do put_ok 1 && put_ok 2 && put_ok 3 && return; sleep 0.1; done
  echo "the cluster did not start; logs in $dir" >&2; tail -5 "$dir"/node-*.log >&2; exit 1
}
leader() { curl -s http://127.0.0.1:18281/status | python3 -c "import json,sys; print(json.load(sys.stdin)['leader'])"; }

start_cluster on
L=$(leader); F=$(( L % 3 + 1 ))
echo "leader: node $L; follower used: node $F" >&2
for entry in "$L" "$F"; do
  role=$([[ $entry == "$L" ]] && echo leader || echo follower)
  python3 bench/hop_trace.py put --port $((18280 + entry)) --count "$warmup"
  for i in 1 2 3; do curl -s "http://127.0.0.1:$((18280 + i))/debug/trace?clear=true" > /dev/null; done
  python3 bench/hop_trace.py put --port $((18280 + entry)) --count "$requests"
  for i in 1 2 3; do curl -s "http://127.0.0.1:$((18280 + i))/debug/trace?clear=true" > "$dir/trace-$role-$i.txt"; done
  [[ -n $keep ]] && { mkdir -p "$keep"; cp "$dir"/trace-$role-*.txt "$keep/"; }
  echo "== PUT through the $role (node $entry); leader node $L; $requests sequential requests"
  python3 bench/hop_trace.py analyse --entry "$entry" --leader "$L" "$dir"/trace-$role-1.txt "$dir"/trace-$role-2.txt "$dir"/trace-$role-3.txt
done
stop_all

if (( bench > 0 )); then
  start_cluster off
  L=$(leader); F=$(( L % 3 + 1 ))
  for p in $(seq 1 "$pairs"); do
    for entry in "$L" "$F"; do
      role=$([[ $entry == "$L" ]] && echo leader || echo follower)
      line=$(dotnet "$tools" bench --endpoints "http://127.0.0.1:$((18280 + entry))" --workers 1 --duration "$bench" --warmup 2 --json-only 2>/dev/null)
      echo "bench $p through the $role: $(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print('p50 %.3f ms p99 %.3f ms ops/s %.0f' % (d['p50_ms'], d['p99_ms'], d['ops_per_s']))" "$line")"
    done
  done
fi
