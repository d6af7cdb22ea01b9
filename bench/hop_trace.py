#!/usr/bin/env python3
"""Helper of bench/hop-trace.sh.

  hop_trace.py put --port P --count N          N sequential 100-byte PUTs on one keep-alive connection
  hop_trace.py analyse --entry E --leader L T1 T2 T3
                                               rebuilds each PUT's critical path from the GET /debug/trace dumps
                                               T1..T3 (of nodes 1..3) and prints the hops with their medians
"""
import argparse
import bisect
import http.client
import statistics
import sys
from collections import Counter, defaultdict


def put(port, count):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = b"v" * 100
    for i in range(count):
        conn.request("PUT", f"/kv/hop-{i % 100:03d}", body=body)
        r = conn.getresponse()
        r.read()
        if r.status != 204:
            sys.exit(f"PUT answered {r.status}")


class Node:
    def __init__(self, node, path):
        self.node = node
        self.by_name = defaultdict(list)  # name -> [(ticks, thread, key, extra)] sorted by ticks
        self.freq = 1e9
        with open(path) as f:
            for line in f:
                if line.startswith("#"):
                    parts = line.split()
                    self.freq = float(parts[2])
                    if int(parts[4]) > 0:
                        print(f"warning: node {node} dropped {parts[4]} hops", file=sys.stderr)
                    continue
                ticks, thread, _node, name, key, extra = line.split()
                self.by_name[name].append((int(ticks), int(thread), int(key), int(extra)))
        for events in self.by_name.values():
            events.sort()

    def last_before(self, name, t, key=None, extra=None):
        events = self.by_name.get(name, [])
        i = bisect.bisect_right(events, (t, sys.maxsize, sys.maxsize, sys.maxsize))
        while i > 0:
            i -= 1
            e = events[i]
            if (key is None or e[2] == key) and (extra is None or e[3] == extra):
                return e
        return None

    def first_after(self, name, t, key=None):
        events = self.by_name.get(name, [])
        i = bisect.bisect_left(events, (t, -1, -1, -1))
        while i < len(events):
            e = events[i]
            if key is None or e[2] == key:
                return e
            i += 1
        return None


def step(chain, label, node, e):
    if e is None:
        raise LookupError(label)
    chain.append((label, node, e[0], e[1]))
    return e


def latest_sender(nodes, name, t, slot, to, skip=None):
    """The node (other than skip) whose last point `name` for `slot` sent to node `to` before t is the latest: which
    of several senders let the receiver go on. Returns (node, point), or (None, None) when none did."""
    best = (None, None)
    for n, node in nodes.items():
        if n == skip:
            continue
        s = node.last_before(name, t, key=slot, extra=to)
        if s and (best[1] is None or s[0] > best[1][0]):
            best = (n, s)
    return best


def critical_path(nodes, entry, http_entry):
    """The chain of one PUT, from the reply back to the request (then reversed)."""
    E = nodes[entry]
    t0 = http_entry[0]
    submit = E.first_after("kv-submit", t0)
    seq = submit[2]
    complete = E.first_after("kv-complete", submit[0], key=seq)
    slot = complete[3]
    back = []
    resume = E.first_after("kv-resume", complete[0], key=seq)
    ret = E.first_after("http-return", resume[0])
    written = E.first_after("http-written", ret[0])
    step(back, "HTTP response written", entry, written)
    step(back, "handler returns (IResult)", entry, ret)
    step(back, "KV waiter resumes (await)", entry, resume)
    step(back, "KV completion (state machine)", entry, complete)
    apply = step(back, "learner applies", entry, E.last_before("apply", complete[0], key=slot))
    # What let this learner apply: a vote (it counted the quorum itself) or a peer learner's Chosen.
    learner = entry
    recv_acc = E.last_before("learner_recv_Accepted", apply[0], key=slot)
    recv_ch = E.last_before("learner_recv_Chosen", apply[0], key=slot)
    if recv_ch and (not recv_acc or recv_ch[0] > recv_acc[0]):
        step(back, "learner receives Chosen", entry, recv_ch)
        learner, s = latest_sender(nodes, "learner_send_Chosen>learner", recv_ch[0], slot, entry, skip=entry)
        step(back, "learner sends Chosen", learner, s)
        recv_acc = nodes[learner].last_before("learner_recv_Accepted", s[0], key=slot)
    step(back, "learner receives the quorum's last Accepted", learner, recv_acc)
    if recv_acc[3] == 0:
        acceptor, sent = learner, nodes[learner].last_before("acceptor_send_Accepted>learner", recv_acc[0], key=slot, extra=learner)
    else:
        acceptor, sent = latest_sender(nodes, "acceptor_send_Accepted>learner", recv_acc[0], slot, learner, skip=learner)
    A = nodes[acceptor]
    step(back, "acceptor sends Accepted", acceptor, sent)
    done = step(back, "persist callback on the acceptor actor", acceptor, A.last_before("persist-done", sent[0], key=slot))
    cont = step(back, "journal task continuation", acceptor, A.last_before("journal-continuation", done[0]))
    commit = step(back, "journal commit (written + fsynced)", acceptor, A.last_before("journal-commit", cont[0]))
    enq = step(back, "journal actor takes the write", acceptor, A.last_before("journal-enqueue", commit[0]))
    req = step(back, "acceptor persist requested", acceptor, A.last_before("persist-request", enq[0], key=slot))
    recv = step(back, "acceptor receives Accept", acceptor, A.last_before("acceptor_recv_Accept", req[0], key=slot))
    leader, s = latest_sender(nodes, "proposer_send_Accept>acceptor", recv[0], slot, acceptor)
    step(back, "proposer sends Accept", leader, s)
    got = step(back, "proposer receives Propose", leader, nodes[leader].last_before("proposer_recv_Propose", s[0]))
    if leader != entry:
        fwd = step(back, "proposer forwards Propose", entry, E.last_before("proposer_send_Propose>proposer", got[0], extra=leader))
        step(back, "proposer receives Propose", entry, E.last_before("proposer_recv_Propose", fwd[0]))
    step(back, "KV submits to the proposer", entry, submit)
    step(back, "HTTP handler entry", entry, http_entry)
    chain = list(reversed(back))
    for a, b in zip(chain, chain[1:]):
        if b[2] < a[2]:
            raise LookupError(f"out of order: {a[0]} -> {b[0]}")
    return chain


def analyse(entry, leader, paths):
    nodes = {i + 1: Node(i + 1, p) for i, p in enumerate(paths)}
    freq = nodes[1].freq
    E = nodes[entry]
    chains, failed = [], Counter()
    for h in E.by_name.get("http-entry", []):
        try:
            chains.append(critical_path(nodes, entry, h))
        except (LookupError, TypeError) as e:
            failed[str(e).split(":")[0]] += 1

    def role(n):
        return "entry" if n == entry else ("leader" if n == leader else "peer")

    shapes = Counter(tuple((c[0], role(c[1])) for c in chain) for chain in chains)
    if not shapes:
        print(f"no complete path among {len(E.by_name.get('http-entry', []))} requests; failures: {dict(failed)}")
        return
    shape, count = shapes.most_common(1)[0]
    print(f"{len(chains)} requests traced ({count} of this shape; other shapes {len(chains) - count}; incomplete {sum(failed.values())})")
    rows = [c for c in chains if tuple((x[0], role(x[1])) for x in c) == shape]
    print(f"{'#':>2}  {'hop':<46} {'node':<7} {'median ms':>9}  {'hand-off':<16}")
    switches, crossings = [], []
    for i, (label, r) in enumerate(shape):
        if i == 0:
            print(f"{i:>2}  {label:<46} {r:<7} {'':>9}")
            continue
        deltas = [(c[i][2] - c[i - 1][2]) * 1000 / freq for c in rows]
        proc = sum(1 for c in rows if c[i][1] != c[i - 1][1])
        thr = sum(1 for c in rows if c[i][1] == c[i - 1][1] and c[i][3] != c[i - 1][3])
        kind = "process" if proc > len(rows) / 2 else (f"thread {100 * thr // len(rows)}%" if thr else "same thread")
        print(f"{i:>2}  {label:<46} {r:<7} {statistics.median(deltas):>9.3f}  {kind:<16}")
    for c in rows:
        switches.append(sum(1 for a, b in zip(c, c[1:]) if a[1] == b[1] and a[3] != b[3]))
        crossings.append(sum(1 for a, b in zip(c, c[1:]) if a[1] != b[1]))
    total = [(c[-1][2] - c[0][2]) * 1000 / freq for c in rows]
    print(f"median handler entry -> response written: {statistics.median(total):.3f} ms; "
          f"thread switches inside a process: median {statistics.median(switches)}; process crossings: median {statistics.median(crossings)}")
    if failed:
        print(f"incomplete: {dict(failed)}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("put")
    a.add_argument("--port", type=int, required=True)
    a.add_argument("--count", type=int, required=True)
    b = sub.add_parser("analyse")
    b.add_argument("--entry", type=int, required=True)
    b.add_argument("--leader", type=int, required=True)
    b.add_argument("paths", nargs=3)
    args = p.parse_args()
    if args.cmd == "put":
        put(args.port, args.count)
    else:
        analyse(args.entry, args.leader, args.paths)


if __name__ == "__main__":
    main()
