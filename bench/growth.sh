#!/usr/bin/env bash
# How cost grows: 3 vs 5 nodes, 100-byte vs 10 KB values, 16 and 64 workers, each on a fresh cluster that
# `paxos-tools bench` starts itself (Release build; its nodes are the paxos-actors built with it). One JSON line per run on stdout (also appended to --out):
# ops/s, p50/p99, server_cpu_s (all nodes, measured window), peak_rss_mb per node.
#
#   bench/growth.sh [--out FILE] [--nodes "3 5"] [--values "100 10240"] [--workers "16 64"]
set -euo pipefail
cd "$(dirname "$0")/.."
out=/dev/null nodes="3 5" values="100 10240" workers="16 64"
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --nodes) nodes=$2; shift 2 ;;
    --values) values=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
tools=src/PaxosActors.Tools/bin/Release/net10.0/paxos-tools.dll
[[ -f $tools ]] || { echo "build first: dotnet build -c Release src/PaxosActors.Tools" >&2; exit 2; }
for n in $nodes; do
  for v in $values; do
    for w in $workers; do
      line=$(dotnet "$tools" bench --nodes "$n" --value-size "$v" --workers "$w" --warmup 10 --duration 10 --json-only 2>/dev/null)
      line=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); r['nodes']=$n; print(json.dumps(r, separators=(',',':')))" "$line")
      echo "$line" | tee -a "$out"
    done
  done
done
