namespace PaxosActors.Checker;

/// <summary>The answer for a whole history or for one key.</summary>
public enum Verdict
{
    /// <summary>Some total order of the operations respects real time and the register's semantics.</summary>
    Linearizable,
    /// <summary>No such order exists.</summary>
    NotLinearizable,
    /// <summary>The time budget ran out before the search finished.</summary>
    Unknown,
}

/// <summary>The outcome for one key, checked on its own.</summary>
/// <param name="Key">The key.</param>
/// <param name="Verdict">Its verdict.</param>
/// <param name="Operations">How many of its operations took part in the search (fail operations and
/// info reads are left out; they cannot affect the register).</param>
/// <param name="Witness">For a violation: a small subset of the key's operations that already cannot be
/// ordered (e.g. the stale read and the two writes it contradicts). Empty otherwise.</param>
/// <param name="Explanation">For a violation: a human-readable account of <paramref name="Witness"/>; otherwise null.</param>
public sealed record KeyResult(string Key, Verdict Verdict, int Operations, IReadOnlyList<Operation> Witness, string? Explanation);

/// <summary>Counts and timing for one check.</summary>
/// <param name="Operations">Operations in the history (every status).</param>
/// <param name="Keys">Distinct keys.</param>
/// <param name="Ok">Operations that completed.</param>
/// <param name="Fail">Operations that certainly did not happen (ignored by the search).</param>
/// <param name="Info">Operations with unknown outcome.</param>
/// <param name="UnknownKeys">Keys whose search ran out of time.</param>
/// <param name="Duration">Wall-clock time of the check, including explaining a violation.</param>
public sealed record CheckSummary(int Operations, int Keys, int Ok, int Fail, int Info, int UnknownKeys, TimeSpan Duration)
{
    public override string ToString() =>
        $"{Operations} ops ({Ok} ok, {Fail} fail, {Info} info) over {Keys} keys in {Duration.TotalMilliseconds:0} ms" +
        (UnknownKeys > 0 ? $", {UnknownKeys} keys unknown (time budget exceeded)" : "");
}

/// <summary>The outcome of <see cref="LinearizabilityChecker.Check"/>.</summary>
/// <param name="Verdict">NotLinearizable if any key is; otherwise Unknown if any key ran out of time; otherwise Linearizable.</param>
/// <param name="Keys">Per-key outcomes, ordered by key.</param>
/// <param name="Summary">Counts and timing.</param>
public sealed record CheckResult(Verdict Verdict, IReadOnlyList<KeyResult> Keys, CheckSummary Summary)
{
    /// <summary>The first violating key (in key order), or null.</summary>
    public KeyResult? Violation => Keys.FirstOrDefault(k => k.Verdict == Verdict.NotLinearizable);

    /// <summary>Every violating key.</summary>
    public IEnumerable<KeyResult> Violations => Keys.Where(k => k.Verdict == Verdict.NotLinearizable);

    public override string ToString() => Verdict switch
    {
        Verdict.NotLinearizable => $"NOT linearizable: {Summary}\n{Violation!.Explanation}",
        Verdict.Unknown => $"unknown: {Summary}",
        _ => $"linearizable: {Summary}",
    };
}
