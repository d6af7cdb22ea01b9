using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace PaxosActors.Checker;

/// <summary>Checks a key-value history for linearizability, each key on its own (P-compositionality).</summary>
/// <remarks>
/// Linearizability is local: a history is linearizable iff its restriction to every key is. So the history is
/// split by key and each key is searched independently (in parallel) by <see cref="KeySearch"/>. Before the
/// search, operations that cannot matter are dropped: fail operations (certainly did not happen), info reads
/// (they change nothing and return nothing), and info writes / cas whose value nobody ever observed (when the
/// key has no failed cas or existed-delete, which could tell such a write apart from its absence).
/// For a violation, the key's operations are shrunk to a small subset that still cannot be ordered, which is
/// what the explanation lists.
/// </remarks>
public static class LinearizabilityChecker
{
    /// <summary>How many violating keys get a shrunk witness; the others list all their operations, since a
    /// badly broken store can violate on every key and shrinking each would only spend the budget.</summary>
    public const int ExplainedViolations = 5;

    /// <summary>Checks <paramref name="operations"/>. The <paramref name="timeout"/> covers the whole check;
    /// keys whose search has not finished by then are Unknown (as is the whole result, unless some key is
    /// already NotLinearizable).</summary>
    public static CheckResult Check(IEnumerable<Operation> operations, TimeSpan timeout, CancellationToken cancellation = default)
    {
        var clock = Stopwatch.StartNew();
        var budget = Budget.After(timeout, cancellation);
        var all = operations as IReadOnlyList<Operation> ?? operations.ToArray();

        var byKey = all.GroupBy(o => o.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
        var results = new ConcurrentDictionary<string, (Verdict Verdict, IReadOnlyList<Operation> Ops, long Frontier, KeyResult? Early)>(StringComparer.Ordinal);

        // Biggest keys first, so one slow key does not start last and run alone.
        var keys = byKey.Keys.OrderByDescending(k => byKey[k].Length).ToArray();
        Parallel.ForEach(keys, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, key =>
        {
            var relevant = Relevant(byKey[key]);
            if (NeverWritten(key, byKey[key], relevant) is { } early)
                results[key] = (Verdict.NotLinearizable, relevant, long.MaxValue, early);
            else if (budget.Expired)
                results[key] = (Verdict.Unknown, relevant, long.MaxValue, null);
            else
                results[key] = (KeySearch.Search(relevant, budget, out long frontier), relevant, frontier, null);
        });

        var perKey = new List<KeyResult>(keys.Length);
        int explained = 0;
        foreach (var key in byKey.Keys.Order(StringComparer.Ordinal))
        {
            var (verdict, relevant, frontier, early) = results[key];
            if (early is not null) perKey.Add(early);
            else if (verdict != Verdict.NotLinearizable) perKey.Add(new KeyResult(key, verdict, relevant.Count, [], null));
            else
            {
                var witness = explained++ < ExplainedViolations ? Shrink(relevant, frontier, budget) : relevant;
                perKey.Add(new KeyResult(key, verdict, relevant.Count, witness, Explain(key, witness, witness.Count < relevant.Count)));
            }
        }

        var overall = perKey.Any(k => k.Verdict == Verdict.NotLinearizable) ? Verdict.NotLinearizable
            : perKey.Any(k => k.Verdict == Verdict.Unknown) ? Verdict.Unknown
            : Verdict.Linearizable;
        var summary = new CheckSummary(
            all.Count, byKey.Count,
            all.Count(o => o.Status == OpStatus.Ok), all.Count(o => o.Status == OpStatus.Fail), all.Count(o => o.Status == OpStatus.Info),
            perKey.Count(k => k.Verdict == Verdict.Unknown), clock.Elapsed);
        return new CheckResult(overall, perKey, summary);
    }

    /// <summary>Reads the history file at <paramref name="path"/> and checks it.</summary>
    public static CheckResult CheckFile(string path, TimeSpan timeout, CancellationToken cancellation = default) =>
        Check(HistoryReader.Read(path), timeout, cancellation);

    /// <summary>The operations of one key that can affect the search, in history order.</summary>
    internal static IReadOnlyList<Operation> Relevant(IReadOnlyList<Operation> ops)
    {
        var observed = new HashSet<string>(StringComparer.Ordinal);
        bool stateSensitive = false;
        foreach (var o in ops)
        {
            if (o.Status == OpStatus.Fail) continue;
            if (o.Kind == OpKind.Read && o.Status == OpStatus.Ok && o.Value is not null) observed.Add(o.Value);
            if (o.Kind == OpKind.Cas && o.Expected is not null) observed.Add(o.Expected);
            // A cas that did not swap, or a delete that found the key, passes in any state but one (resp. absent):
            // an unobserved write could be what made it pass, so such writes must stay.
            if (o.Status == OpStatus.Ok && ((o.Kind == OpKind.Cas && o.Outcome == false) || (o.Kind == OpKind.Delete && o.Outcome == true)))
                stateSensitive = true;
        }
        return ops.Where(o => o.Status switch
        {
            OpStatus.Fail => false,
            OpStatus.Ok => true,
            // Info: a read has no effect; an unobserved write is never needed to justify anything, so leaving
            // it out keeps the search from trying every subset of them.
            _ => o.Kind switch
            {
                OpKind.Read => false,
                OpKind.Write or OpKind.Cas => stateSensitive || observed.Contains(o.Value!),
                _ => true,
            },
        }).ToArray();
    }

    /// <summary>The commonest violation, caught without a search: a completed read (or swapping cas) that
    /// observed a value no non-failed operation on the key ever wrote.</summary>
    static KeyResult? NeverWritten(string key, IReadOnlyList<Operation> all, IReadOnlyList<Operation> relevant)
    {
        var written = all.Where(o => o.Status != OpStatus.Fail && o.Kind is OpKind.Write or OpKind.Cas)
            .Select(o => o.Value!).ToHashSet(StringComparer.Ordinal);
        foreach (var o in relevant)
        {
            string? seen = o.Kind == OpKind.Read && o.Status == OpStatus.Ok ? o.Value
                : o.Kind == OpKind.Cas && o.Status == OpStatus.Ok && o.Outcome == true ? o.Expected
                : null;
            if (seen is null || written.Contains(seen)) continue;
            var failed = all.FirstOrDefault(w => w.Status == OpStatus.Fail && w.Kind is OpKind.Write or OpKind.Cas && w.Value == seen);
            var witness = failed is null ? new[] { o } : new[] { failed, o };
            string verb = o.Kind == OpKind.Read ? "read" : "swapping cas";
            string why = failed is null
                ? $"no operation on this key ever wrote {Operation.Show(seen)}"
                : $"only the failed operation #{failed.Id} wrote {Operation.Show(seen)}, and fail means it certainly did not happen";
            return new KeyResult(key, Verdict.NotLinearizable, relevant.Count, witness,
                $"key {key}: {verb} #{o.Id} observed {Operation.Show(seen)}, but {why}.\n" + List(witness));
        }
        return null;
    }

    /// <summary>Shrinks a non-linearizable key history to a small subset that is still not linearizable.
    /// First the window: the prefix (in invocation order) up to the search's frontier, then the shortest
    /// suffix of that which is still not linearizable, so long per-key histories cost O(log n) searches.
    /// Then a simplified ddmin inside the window: drop halves, quarters, … single operations, while the
    /// verdict stays. Every candidate must stay <see cref="Closed"/>, or dropping a write would turn a stale
    /// read into a mere "read of an unwritten value", which explains nothing. Stops early, returning the
    /// smallest witness so far, when the budget runs out.</summary>
    internal static IReadOnlyList<Operation> Shrink(IReadOnlyList<Operation> ops, long frontier, Budget budget)
    {
        var sorted = ops.OrderBy(o => o.InvokeNs).ThenBy(o => o.Id).ToList();
        bool Bad(List<Operation> candidate) =>
            candidate.Count > 0 && Closed(candidate) && KeySearch.Search(candidate, budget) == Verdict.NotLinearizable;

        // The window's end: everything invoked after the search's frontier was never even looked at.
        int end = sorted.Count;
        var prefix = sorted.FindAll(o => o.InvokeNs <= frontier);
        if (prefix.Count < sorted.Count && Bad(prefix)) end = prefix.Count;
        // The window's start: the shortest suffix still not linearizable, by exponential then binary search
        // from the end — violations are local in time, so this mostly searches short histories. It does not
        // rely on monotonicity for correctness: the start it returns was verified bad, or is 0 (known bad).
        int start = 0, notBad = end;
        for (int size = 4; !budget.Expired; size *= 2)
        {
            int s = Math.Max(0, end - size);
            if (s == 0) break;
            if (Bad(sorted.GetRange(s, end - s))) { start = s; break; }
            notBad = s;
        }
        for (int top = notBad - 1; start < top && !budget.Expired;)
        {
            int mid = (start + top + 1) / 2;
            if (Bad(sorted.GetRange(mid, end - mid))) start = mid; else top = mid - 1;
        }
        var current = sorted.GetRange(start, end - start);

        int chunk = Math.Max(1, current.Count / 2);
        while (true)
        {
            bool removed = false;
            for (int i = 0; i < current.Count && !budget.Expired;)
            {
                int take = Math.Min(chunk, current.Count - i);
                var candidate = current.Take(i).Concat(current.Skip(i + take)).ToList();
                if (Bad(candidate))
                {
                    current = candidate;
                    removed = true;
                }
                else i += take;
            }
            if (budget.Expired || (chunk == 1 && !removed)) return current;
            chunk = Math.Max(1, chunk / 2);
        }
    }

    /// <summary>Whether a candidate witness still justifies its own observations: every value a read or swapping
    /// cas saw is written within it, and every cas that did not swap (or delete that found the key) has some
    /// earlier-invoked operation in it that could have made the state differ — otherwise dropping that operation
    /// would make the witness fail for a reason the real history does not have.</summary>
    static bool Closed(IReadOnlyList<Operation> ops)
    {
        var written = ops.Where(o => o.Kind is OpKind.Write or OpKind.Cas).Select(o => o.Value!).ToHashSet(StringComparer.Ordinal);
        foreach (var o in ops)
        {
            if (o.Kind == OpKind.Read && o.Status == OpStatus.Ok && o.Value is not null && !written.Contains(o.Value)) return false;
            if (o.Kind == OpKind.Cas && o.Outcome == true && o.Expected is not null && !written.Contains(o.Expected)) return false;
            if (o.Kind == OpKind.Cas && o.Outcome == false &&
                !ops.Any(w => w.InvokeNs < o.ReturnNs && w != o && (w.Kind is OpKind.Write or OpKind.Cas ? w.Value != o.Expected : w.Kind == OpKind.Delete && o.Expected is not null)))
                return false;
            if (o.Kind == OpKind.Delete && o.Outcome == true &&
                !ops.Any(w => w.InvokeNs < o.ReturnNs && w.Kind is OpKind.Write or OpKind.Cas))
                return false;
        }
        return true;
    }

    static string Explain(string key, IReadOnlyList<Operation> witness, bool shrunk)
    {
        var text = new StringBuilder();
        text.Append($"key {key}: ").Append(shrunk ? $"these {witness.Count} operations" : $"its {witness.Count} operations")
            .Append(" cannot be put in one order that both respects real time (an operation that returned before another")
            .Append(" was invoked comes first) and gives every read the latest value written.");
        // Say who wrote what each read saw: with unique values that makes a stale read or lost write obvious.
        var writers = witness.Where(o => o.Kind is OpKind.Write or OpKind.Cas).GroupBy(o => o.Value!).ToDictionary(g => g.Key, g => g.First());
        foreach (var r in witness.Where(o => o.Kind == OpKind.Read && o.Status == OpStatus.Ok))
        {
            string source = r.Value is null ? "the key absent" : writers.TryGetValue(r.Value, out var w) ? $"the value of #{w.Id}" : Operation.Show(r.Value);
            var later = witness.Where(o => o.Kind is OpKind.Write or OpKind.Cas or OpKind.Delete && o.Status == OpStatus.Ok
                && o.ReturnNs < r.InvokeNs && o.Value != r.Value
                && (r.Value is null || !writers.TryGetValue(r.Value, out var src) || src.ReturnNs < o.InvokeNs)).ToArray();
            text.Append($"\n  read #{r.Id} saw {source}");
            if (later.Length > 0)
                text.Append($", though {string.Join(", ", later.Select(o => $"#{o.Id}"))} overwrote it and returned before the read began");
        }
        return text.Append('\n').Append(List(witness)).ToString();
    }

    static string List(IEnumerable<Operation> ops) =>
        string.Join("\n", ops.OrderBy(o => o.InvokeNs).ThenBy(o => o.Id).Select(o => "    " + o));
}
