namespace PaxosActors.Tools.Chaos;

/// <summary>Runs chaos runs back to back until the duration is spent, and sums them up.</summary>
public static class ChaosSession
{
    /// <summary>The runs' seeds come from <see cref="ChaosOptions.Seed"/> (so a session replays from it), or the one run of
    /// <see cref="ChaosOptions.RunSeed"/> replays with <see cref="ChaosOptions.Duration"/> as its fault phase.</summary>
    public static async Task<ChaosSummary> RunAsync(ChaosOptions options, TextWriter console, CancellationToken ct = default)
    {
        var results = new List<RunResult>();
        if (options.RunSeed is { } runSeed)
        {
            results.Add(await new ChaosRun(options, 1, runSeed, options.Duration, console).RunAsync(ct));
            return new ChaosSummary(results, options);
        }
        var seeds = new Random(options.Seed);
        var left = options.Duration;
        int index = 0;
        do
        {
            var phase = left < TimeSpan.FromSeconds(options.RunSeconds) ? left : TimeSpan.FromSeconds(options.RunSeconds);
            if (phase < TimeSpan.FromSeconds(5)) phase = TimeSpan.FromSeconds(5);
            int seed = seeds.Next(1, 1_000_000);
            results.Add(await new ChaosRun(options, ++index, seed, phase, console).RunAsync(ct));
            left -= phase;
        }
        while (left > TimeSpan.FromSeconds(5) && !ct.IsCancellationRequested);
        return new ChaosSummary(results, options);
    }
}

/// <summary>The figures of a chaos session: runs, confirmed faults, operations, check times, and everything that failed.</summary>
public sealed record ChaosSummary(IReadOnlyList<RunResult> Runs, ChaosOptions Options)
{
    /// <summary>Confirmed faults.</summary>
    public int Faults => Runs.Sum(r => r.FaultCount);

    /// <summary>Confirmed faults by kind.</summary>
    public IReadOnlyDictionary<string, int> FaultsByKind =>
        Runs.SelectMany(r => r.Faults).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));

    /// <summary>Faults the schedules set out to inject, by kind.</summary>
    public IReadOnlyDictionary<string, int> PlannedByKind =>
        Runs.SelectMany(r => r.PlannedFaults).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));

    /// <summary>What the membership changes did, summed over the runs.</summary>
    public MembershipStats Membership => Runs.Aggregate(MembershipStats.None, (sum, r) => sum + r.Membership);

    /// <summary>The clients' operations, by outcome (probes and final reads not included).</summary>
    public OpCounts ClientOps => Runs.Aggregate(new OpCounts(), (sum, r) => sum + r.ClientOps);

    /// <summary>Every operation in the checked histories (clients, probes, final reads).</summary>
    public int Operations => Runs.Sum(r => r.Check?.Operations ?? 0);

    public int Anomalies => Runs.Sum(r => r.Anomalies.Count);

    /// <summary>Keys the checker did not finish: not proven linearizable.</summary>
    public int Unknowns => Runs.Sum(r => r.UnknownKeys.Count);

    public int HarnessErrors => Runs.Sum(r => r.HarnessErrors.Count);

    public bool Passed => Runs.Count > 0 && Runs.All(r => r.Passed);

    public override string ToString()
    {
        var w = new StringWriter();
        var kinds = FaultsByKind.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}");
        w.WriteLine($"runs: {Runs.Count} ({Runs.Count(r => !r.Passed)} failed)");
        w.WriteLine($"faults confirmed: {Faults} of {PlannedByKind.Values.Sum()} injected ({string.Join(", ", kinds)})");
        if (Options.MembershipChanges)
        {
            var m = Membership;
            var finals = Runs.Where(r => r.Membership.LastAcceptors is not null)
                .GroupBy(r => string.Join(",", r.Membership.LastAcceptors!)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key)
                .Select(g => $"[{g.Key}] {g.Count()}");
            w.WriteLine($"membership changes confirmed: {m.ConfirmedTotal} of {m.SentTotal} sent " +
                        $"({string.Join(", ", MembershipChanges.Kinds.Where(m.Sent.ContainsKey).Select(k => $"{k} {m.Confirmed.GetValueOrDefault(k)}/{m.Sent[k]}"))}); " +
                        $"outcome unknown {m.Unknown} (seen to take effect {m.UnknownTookEffect}), 409 retried {m.Conflicts}, stale answers retried {m.StaleAnswers}, not sent {m.NotSent}; " +
                        $"{Options.SpareNodes} spare(s); acceptor sets at the end: {string.Join(", ", finals)}");
        }
        w.WriteLine($"client operations: {ClientOps} (floor {Options.MinOps} ok per run; fewest in a run: {Runs.Min(r => r.ClientOps.Ok)} ok)");
        w.WriteLine($"harness operations: {Runs.Sum(r => r.ProbeOps)} probe writes, {Runs.Sum(r => r.FinalReads)} final reads");
        var checks = Runs.Where(r => r.Check is not null).Select(r => r.Check!).ToList();
        if (checks.Count > 0)
            w.WriteLine($"checked: {Operations} operations ({checks.Sum(c => c.Ok)} ok, {checks.Sum(c => c.Fail)} fail, {checks.Sum(c => c.Info)} info) " +
                        $"in {checks.Sum(c => c.Duration.TotalSeconds):0.00} s; slowest run {checks.Max(c => c.Duration.TotalSeconds):0.00} s " +
                        $"(budget {Options.CheckBudget.TotalSeconds:0.###} s)");
        var served = Runs.Where(r => r.ServedAgainAfter is not null).Select(r => r.ServedAgainAfter!.Value.TotalSeconds).ToList();
        var converged = Runs.Where(r => r.ConvergedAfter is not null).Select(r => r.ConvergedAfter!.Value.TotalSeconds).ToList();
        if (served.Count > 0)
            w.WriteLine($"served again after healing: max {served.Max():0.0} s, mean {served.Average():0.0} s; " +
                        $"converged (slot, kv_digest, acceptor set) after final reads: max {converged.DefaultIfEmpty().Max():0.0} s");
        w.WriteLine($"anomalies: {Anomalies}");
        w.WriteLine($"unknown (checker out of time): {Unknowns}");
        w.WriteLine($"harness errors: {HarnessErrors}");
        foreach (var r in Runs.Where(r => !r.Passed))
        {
            w.WriteLine($"  run {r.Index} (seed {r.Seed}, {r.Directory}):");
            foreach (var a in r.Anomalies) w.WriteLine($"    ANOMALY: {a.Replace("\n", "\n      ")}");
            foreach (var u in r.UnknownKeys) w.WriteLine($"    UNKNOWN: {u}");
            foreach (var e in r.HarnessErrors) w.WriteLine($"    HARNESS ERROR: {e}");
            w.WriteLine($"    replay: {Options.ReplayCommand(r.Seed, r.FaultPhase)}");
        }
        w.WriteLine(Passed ? "PASSED" : "FAILED");
        return w.ToString();
    }
}
