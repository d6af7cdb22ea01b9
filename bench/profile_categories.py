#!/usr/bin/env python3
"""Sorts `perf script` samples of the node processes into where the CPU goes.

    perf script -i perf.data | python3 bench/profile_categories.py

Each sample is counted once: in the first category, from the top of the list, that any frame of its stack matches
(so "remoting" wins over "actor dispatch" for an actor message sent by the endpoint writer). Needs the nodes started
with DOTNET_PerfMapEnabled=1, so managed frames have names. Prints a Markdown table, shares of all samples, and the
share of a few frames counted inclusively (our protocol core, the KV state machine, fsync)."""
import re
import sys

CATEGORIES = [
    ("remoting: DotNetty event loops and pipeline, Akka.Remote endpoint writers, envelope serialization",
     re.compile(r"DotNetty|Akka\.Remote|Google\.Protobuf|PaxosSerializer")),
    ("the journal writer thread: SQLite and fsync", re.compile(r"SqliteWriteJournal|Microsoft\.Data\.Sqlite|libsqlite|sqlite3|fsync|fdatasync")),
    ("HTTP: Kestrel and ASP.NET routing", re.compile(r"Microsoft\.AspNetCore|Kestrel|System\.Net\.Http")),
    ("Akka.Persistence on the actor side (journal actor, resequencing, persist callbacks)", re.compile(r"Akka\.Persistence")),
    ("Akka actor dispatch and mailboxes", re.compile(r"Akka\.Actor|Akka\.Dispatch|Akka\.Cluster")),
    ("thread-pool dispatch and waits", re.compile(r"System\.Threading|ThreadPool|PortableThreadPool|WorkerThread")),
    ("garbage collection", re.compile(r"gc_heap|GCHeap|WKS::|SVR::|GarbageCollect")),
    ("JIT and runtime start-up", re.compile(r"libclrjit|CILJit|MethodDesc::DoPrestub|ThePreStub")),
]
INCLUSIVE = [
    ("our protocol core (PaxosActors.Core)", re.compile(r"PaxosActors\.Core\.")),
    ("the KV state machine (PaxosActors.Kv)", re.compile(r"PaxosActors\.Kv\.")),
    ("fsync / fdatasync", re.compile(r"fsync|fdatasync")),
    ("GC", re.compile(r"gc_heap|GCHeap|WKS::|SVR::")),
]
OTHER = "kernel and runtime not attributed above (socket syscalls, wake-ups, scheduling)"


def samples(stream):
    """Yields each sample's frames (symbol and module text), top first."""
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith((" ", "\t")):
            frames.append(line.strip())
        else:
            frames = []  # the header line of a new sample
    if frames:
        yield frames


def main():
    counts = {name: 0 for name, _ in CATEGORIES}
    counts[OTHER] = 0
    inclusive = {name: 0 for name, _ in INCLUSIVE}
    total = 0
    for frames in samples(sys.stdin):
        total += 1
        for name, pattern in CATEGORIES:
            if any(pattern.search(f) for f in frames):
                counts[name] += 1
                break
        else:
            counts[OTHER] += 1
        for name, pattern in INCLUSIVE:
            if any(pattern.search(f) for f in frames):
                inclusive[name] += 1
    if total == 0:
        sys.exit("no samples: is the input `perf script` output?")
    print(f"{total} samples\n")
    print("| where (each sample counted once, first match from the top) | share |")
    print("|---|---|")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {100 * n / total:.0f} % |")
    print()
    print("| inside the rows above (inclusive) | share |")
    print("|---|---|")
    for name, n in inclusive.items():
        print(f"| {name} | {100 * n / total:.1f} % |")


if __name__ == "__main__":
    main()
