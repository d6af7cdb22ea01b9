#!/usr/bin/env bash
# Where the CPU goes under load: perf samples of the three node processes of a warm Release cluster.
#
#   bench/profile.sh [--workers 64] [--seconds 10] [--read-ratio 0] [--redirect-writes] [--out DIR]
#
# Starts `local` on ports 18381-18383 (HTTP) and 14351-14353 (remoting) in a fresh temporary directory, with
# DOTNET_PerfMapEnabled=1 (managed frames get names), warms it up for 10 s with the shared load generator, then runs
# `perf record -g -F 499` on the nodes while the load generator runs --seconds more, and sorts the samples with
# bench/profile_categories.py. Prints the table and the load generator's JSON line; keeps perf.data and the loadgen
# output in --out (default: a temporary directory). Needs: perf (Debian's linux-perf), the Release build
# (dotnet build -c Release src/PaxosActors.Tools) and the shared load generator built
# (dotnet build -c Release ../shared/bench/loadgen). perf's own overhead lowers the throughput while it samples.
set -euo pipefail
cd "$(dirname "$0")/.."
workers=64 seconds=10 ratio=0 redirect="" out=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --workers) workers=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --read-ratio) ratio=$2; shift 2 ;;
    --redirect-writes) redirect="--redirect-writes"; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dll=src/PaxosActors.Node/bin/Release/net10.0/paxos-actors.dll
loadgen=../shared/bench/loadgen/bin/Release/net10.0/loadgen.dll
for f in "$dll" "$loadgen"; do [[ -f $f ]] || { echo "build first: $f is missing" >&2; exit 2; }; done
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
dir=$(mktemp -d /tmp/paxos-profile.XXXXXX)
out=${out:-$dir}
mkdir -p "$out"
eps=http://127.0.0.1:18381,http://127.0.0.1:18382,http://127.0.0.1:18383
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 setsid dotnet "$dll" local $redirect --http-port 18381 --remote-port 14351 \
  --data-dir "$dir/data" > "$dir/local.log" 2>&1 &
local_pid=$!
cleanup() { kill -TERM -- -"$local_pid" 2>/dev/null || true; wait "$local_pid" 2>/dev/null || true; rm -rf "$dir/data"; }
trap cleanup EXIT
deadline=$((SECONDS + 120))
for ep in ${eps//,/ }; do
  until curl -fsS -o /dev/null -X PUT --data ready --max-time 2 "$ep/kv/__ready" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "cluster never became ready" >&2; tail -n 30 "$dir/local.log" >&2; exit 1; }
    sleep 0.5
  done
done
dotnet "$loadgen" --target http --endpoints "$eps" --workers "$workers" --duration 10 --read-ratio "$ratio" > /dev/null
pids=$(pgrep -f "paxos-actors.dll node .*--data-dir $dir/data" | paste -sd, -)
[[ -n $pids ]] || { echo "no node processes found" >&2; exit 1; }
dotnet "$loadgen" --target http --endpoints "$eps" --workers "$workers" --duration "$seconds" --warmup 1 --read-ratio "$ratio" \
  > "$out/loadgen.json" &
lg=$!
sleep 1.5
perf record -q -g -F 499 -p "$pids" -o "$out/perf.data" -- sleep "$seconds" 2>/dev/null
wait "$lg"
perf script -i "$out/perf.data" 2>/dev/null | python3 bench/profile_categories.py
cat "$out/loadgen.json"
echo "perf.data and loadgen.json in $out"
