using System.Diagnostics;
using System.Numerics;

namespace PaxosActors.Checker;

/// <summary>A wall-clock deadline plus a cancellation token, polled by the search.</summary>
internal sealed class Budget(long deadlineTimestamp, CancellationToken cancellation)
{
    public static Budget After(TimeSpan timeout, CancellationToken ct = default) =>
        new(timeout == Timeout.InfiniteTimeSpan || timeout >= TimeSpan.FromDays(1)
            ? long.MaxValue
            : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency), ct);

    public bool Expired => cancellation.IsCancellationRequested || Stopwatch.GetTimestamp() > deadlineTimestamp;
}

/// <summary>
/// The Wing &amp; Gong linearizability search over one key's operations, with Lowe's memoisation of
/// (set of operations linearized so far, register state) — the algorithm Porcupine implements.
/// </summary>
/// <remarks>
/// The history is a time-ordered doubly linked list of call and return entries. Walking from the head, a
/// call whose operation can take effect in the current state is "lifted" (both its entries unlinked) and
/// the walk restarts; reaching a return means the operation it ends was not linearized in time, so the
/// last lift is undone and the walk continues after it. A (linearized set, state) pair seen before led
/// nowhere the first time, so it is not explored again — this is what makes the search fast when few
/// operations overlap. Info operations have no return entry: they may be lifted anywhere after their call,
/// or never; the search succeeds once every completed operation is linearized.
/// </remarks>
internal static class KeySearch
{
    const int Absent = 0;

    /// <summary>One operation in the search's terms: values interned to ints (0 = absent).</summary>
    readonly record struct Step(OpKind Kind, int Value, int Expected, bool? Outcome, bool Info);

    public static Verdict Search(IReadOnlyList<Operation> ops, Budget budget) => Search(ops, budget, out _);

    /// <summary>Searches <paramref name="ops"/>; on NotLinearizable, <paramref name="frontier"/> is the latest
    /// return time the walk ever reached. The walk never looked at a call after it, so the operations invoked
    /// at or before the frontier are already not linearizable on their own — a much shorter history to explain.</summary>
    public static Verdict Search(IReadOnlyList<Operation> ops, Budget budget, out long frontier)
    {
        frontier = long.MinValue;
        int n = ops.Count;
        if (n == 0) return Verdict.Linearizable;

        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        int Intern(string? v) => v is null ? Absent : ids.TryGetValue(v, out int id) ? id : ids[v] = ids.Count + 1;
        var steps = new Step[n];
        for (int i = 0; i < n; i++)
        {
            var o = ops[i];
            steps[i] = new Step(o.Kind, Intern(o.Value), Intern(o.Expected), o.Outcome, o.Status == OpStatus.Info);
        }

        // Entries: 2i = call of op i, 2i+1 = its return (absent from the list for info ops). Index 2n is the head.
        var order = new List<(long Time, int Entry)>(2 * n);
        var returnTime = new long[n];
        int complete = 0;
        for (int i = 0; i < n; i++)
        {
            order.Add((ops[i].InvokeNs, 2 * i));
            if (!steps[i].Info)
            {
                complete++;
                returnTime[i] = Math.Max(ops[i].ReturnNs, ops[i].InvokeNs);
                order.Add((returnTime[i], 2 * i + 1));
            }
        }
        // At equal times calls sort before returns: the two operations are then treated as concurrent,
        // which can only make the checker more permissive, never report a false violation.
        order.Sort((a, b) =>
        {
            int c = a.Time.CompareTo(b.Time);
            if (c != 0) return c;
            c = (a.Entry & 1).CompareTo(b.Entry & 1);
            return c != 0 ? c : a.Entry.CompareTo(b.Entry);
        });

        int head = 2 * n;
        var next = new int[2 * n + 1];
        var prev = new int[2 * n + 1];
        int last = head;
        foreach (var (_, e) in order)
        {
            next[last] = e;
            prev[e] = last;
            last = e;
        }
        next[last] = -1;

        var linearized = new ulong[(n + 63) / 64];
        var zobrist = new ulong[n];
        ulong seed = 0x9E3779B97F4A7C15;
        for (int i = 0; i < n; i++) zobrist[i] = SplitMix(ref seed);
        ulong hash = 0;
        var cache = new HashSet<CacheKey>(CacheKeyComparer.Instance);
        var calls = new Stack<(int Entry, int State, bool Forced)>();
        int state = Absent;
        int remaining = complete;
        int entry = next[head];
        long iterations = 0;

        while (true)
        {
            if (remaining == 0) return Verdict.Linearizable;
            if ((++iterations & 0x3FF) == 0 && budget.Expired) return Verdict.Unknown;

            bool backtrack = entry < 0 || (entry & 1) == 1;
            if (!backtrack)
            {
                int op = entry >> 1;
                if (TryApply(steps[op], state, out int newState))
                {
                    // Dominance: an operation that leaves the state as it is (a read, a cas that did not swap)
                    // and can take effect now may as well take effect now. Every operation that must precede it
                    // in real time is already linearized (its return entry would otherwise come first), and it
                    // changes nothing for those after. So if placing it here fails, nothing else from this
                    // state can succeed either, and its alternatives need no search.
                    bool forced = newState == state && !steps[op].Info;
                    linearized[op >> 6] |= 1UL << op;
                    hash ^= zobrist[op];
                    var probe = new CacheKey(hash, newState, linearized);
                    if (!cache.Contains(probe))
                    {
                        cache.Add(probe with { Linearized = (ulong[])linearized.Clone() });
                        calls.Push((entry, state, forced));
                        state = newState;
                        Lift(entry, steps[op].Info, next, prev);
                        if (!steps[op].Info) remaining--;
                        entry = next[head];
                        continue;
                    }
                    linearized[op >> 6] &= ~(1UL << op);
                    hash ^= zobrist[op];
                    // Already explored and failed (it cannot be on the current path, which only grows the set).
                    backtrack = forced;
                }
                if (!backtrack)
                {
                    entry = next[entry];
                    continue;
                }
            }

            // A return (or the end of the list): the operation it ends was not linearized before it returned,
            // so the most recent choice was wrong. Forced choices had no alternatives: keep undoing past them.
            if (entry >= 0 && (entry & 1) == 1) frontier = Math.Max(frontier, returnTime[entry >> 1]);
            bool undoneForced;
            do
            {
                if (calls.Count == 0) return Verdict.NotLinearizable;
                (entry, state, undoneForced) = calls.Pop();
                int op = entry >> 1;
                linearized[op >> 6] &= ~(1UL << op);
                hash ^= zobrist[op];
                if (!steps[op].Info) remaining++;
                Unlift(entry, steps[op].Info, next, prev);
            }
            while (undoneForced);
            entry = next[entry];
        }
    }

    /// <summary>The register model: whether <paramref name="s"/> can take effect in <paramref name="state"/>,
    /// and the state after it.</summary>
    static bool TryApply(in Step s, int state, out int next)
    {
        next = state;
        switch (s.Kind)
        {
            case OpKind.Read:
                return state == s.Value;
            case OpKind.Write:
                next = s.Value;
                // An info write that changes nothing is the same as leaving it out; refusing it here
                // spares the cache an equivalent branch.
                return !s.Info || state != s.Value;
            case OpKind.Cas:
                if (s.Info)
                {
                    // Unknown outcome: only the swapping case is worth linearizing (a no-op equals omission).
                    if (state != s.Expected || s.Value == state) return false;
                    next = s.Value;
                    return true;
                }
                if (s.Outcome == true)
                {
                    if (state != s.Expected) return false;
                    next = s.Value;
                    return true;
                }
                return state != s.Expected;
            default: // Delete
                if (s.Info) { next = Absent; return state != Absent; }
                if (s.Outcome is { } existed && existed != (state != Absent)) return false;
                next = Absent;
                return true;
        }
    }

    // Dancing links: unlink an operation's call and return entries; Unlift relinks them in reverse order.
    static void Lift(int call, bool info, int[] next, int[] prev)
    {
        Unlink(call, next, prev);
        if (!info) Unlink(call + 1, next, prev);
    }

    static void Unlift(int call, bool info, int[] next, int[] prev)
    {
        if (!info) Relink(call + 1, next, prev);
        Relink(call, next, prev);
    }

    static void Unlink(int e, int[] next, int[] prev)
    {
        next[prev[e]] = next[e];
        if (next[e] >= 0) prev[next[e]] = prev[e];
    }

    static void Relink(int e, int[] next, int[] prev)
    {
        next[prev[e]] = e;
        if (next[e] >= 0) prev[next[e]] = e;
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    /// <summary>A memo entry: the linearized set (with its incremental Zobrist hash) and the register state.</summary>
    readonly record struct CacheKey(ulong Hash, int State, ulong[] Linearized);

    sealed class CacheKeyComparer : IEqualityComparer<CacheKey>
    {
        public static readonly CacheKeyComparer Instance = new();

        // The hash only speeds up the lookup; equality always compares the full bitset, so a hash
        // collision can never prune a branch that was not explored.
        public bool Equals(CacheKey a, CacheKey b) =>
            a.Hash == b.Hash && a.State == b.State && a.Linearized.AsSpan().SequenceEqual(b.Linearized);

        public int GetHashCode(CacheKey k) => (int)BitOperations.RotateLeft(k.Hash ^ (ulong)k.State * 0x9E3779B97F4A7C15, 17);
    }
}
