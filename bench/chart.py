#!/usr/bin/env python3
"""Throughput against workers, one line per system, from compare.sh / loadgen JSON lines.

    bench/chart.py RESULTS.jsonl [MORE.jsonl ...] -o bench/throughput.svg

Each point is the median ops/s of the repetitions of one (system, workers) pair; the whiskers
span their min and max. Only the standard library: the SVG is written by hand.
"""
import argparse
import json
import math
import statistics
import sys
from collections import defaultdict

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
NAMES = {"sut": "PaxosActors", "sut-redirect": "PaxosActors, --redirect-writes", "etcd": "etcd 3.4",
         "ceiling": "in-memory ceiling (kvnull)"}


def load(paths, read_ratio):
    runs = defaultdict(list)  # (system, workers) -> [ops/s]
    for path in paths:
        with open(path) as f:
            for line in f:
                if not line.startswith("{"):
                    continue
                row = json.loads(line)
                if float(row.get("read_ratio", 0)) != read_ratio:
                    continue
                system = row.get("system") or ("etcd" if row.get("target") == "etcd" else "sut")
                runs[(system, int(row["workers"]))].append(float(row["ops_per_s"]))
    return runs


def nice_top(value):
    exp = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * exp >= value:
            return step * exp
    return 10 * exp


def svg(runs, title):
    width, height, left, right, top, bottom = 720, 420, 80, 230, 50, 60
    systems = sorted({s for s, _ in runs}, key=lambda s: list(NAMES).index(s) if s in NAMES else 9)
    workers = sorted({w for _, w in runs})
    y_max = nice_top(max(max(v) for v in runs.values()) * 1.05)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(w):  # workers on a log scale
        lo, hi = math.log2(workers[0]), math.log2(workers[-1])
        return left + (plot_w * (math.log2(w) - lo) / (hi - lo) if hi > lo else plot_w / 2)

    def y(v):
        return top + plot_h * (1 - v / y_max)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">{title}</text>']
    for i in range(6):
        v = y_max * i / 5
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    for w in workers:
        out.append(f'<text x="{x(w):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{w}</text>')
    out.append(f'<text x="{left + plot_w / 2}" y="{height - 16}" text-anchor="middle">concurrent workers (closed loop)</text>')
    out.append(f'<text transform="translate(20,{top + plot_h / 2}) rotate(-90)" text-anchor="middle">ops/s (median of runs; bars: min-max)</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#444"/>')
    for n, system in enumerate(systems):
        colour = COLOURS[n % len(COLOURS)]
        points = [(w, runs[(system, w)]) for w in workers if (system, w) in runs]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x(w):.1f},{y(statistics.median(v)):.1f}" for i, (w, v) in enumerate(points))
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for w, v in points:
            med = statistics.median(v)
            out.append(f'<line x1="{x(w):.1f}" x2="{x(w):.1f}" y1="{y(min(v)):.1f}" y2="{y(max(v)):.1f}" stroke="{colour}"/>')
            out.append(f'<circle cx="{x(w):.1f}" cy="{y(med):.1f}" r="4" fill="{colour}"/>')
            out.append(f'<text x="{x(w) + 7:.1f}" y="{y(med) - 6:.1f}" fill="{colour}">{med:,.0f}</text>')
        ly = top + 10 + 22 * n
        out.append(f'<line x1="{left + plot_w + 20}" x2="{left + plot_w + 44}" y1="{ly}" y2="{ly}" stroke="{colour}" stroke-width="3"/>')
        out.append(f'<text x="{left + plot_w + 50}" y="{ly + 4}">{NAMES.get(system, system)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("results", nargs="+")
    p.add_argument("-o", "--output", default="-")
    p.add_argument("--read-ratio", type=float, default=0.0)
    p.add_argument("--title", default="100-byte PUTs, 3 nodes, fsync on, this 2-core VM")
    args = p.parse_args()
    runs = load(args.results, args.read_ratio)
    if not runs:
        sys.exit(f"chart: no result lines with read_ratio {args.read_ratio} in {', '.join(args.results)}")
    text = svg(runs, args.title)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
