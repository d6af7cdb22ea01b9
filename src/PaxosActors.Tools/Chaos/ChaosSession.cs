namespace PaxosActors.Tools.Chaos;

/// <summary>Runs chaos runs back to back until the duration is spent, and sums them up.</summary>
public static class ChaosSession
{
    public static async Task<ChaosSummary> RunAsync(ChaosOptions options, TextWriter console, CancellationToken ct = default)
    {
        var seeds = new Random(options.Seed);
        var results = new List<RunResult>();
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
        return new ChaosSummary(results);
    }
}

/// <summary>The figures of a chaos session: runs, faults, operations checked, anomalies.</summary>
public sealed record ChaosSummary(IReadOnlyList<RunResult> Runs)
{
    public int Faults => Runs.Sum(r => r.FaultCount);
    public int Operations => Runs.Sum(r => r.Check?.Operations ?? 0);
    public int Anomalies => Runs.Sum(r => r.Anomalies.Count);
    public int Warnings => Runs.Sum(r => r.Warnings.Count);

    public override string ToString()
    {
        var w = new StringWriter();
        var kinds = Runs.SelectMany(r => r.Faults).GroupBy(p => p.Key).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Sum(p => p.Value)}");
        w.WriteLine($"runs: {Runs.Count}");
        w.WriteLine($"faults injected: {Faults} ({string.Join(", ", kinds)})");
        w.WriteLine($"operations checked: {Operations} ({Runs.Sum(r => r.Check?.Ok ?? 0)} ok, {Runs.Sum(r => r.Check?.Fail ?? 0)} fail, {Runs.Sum(r => r.Check?.Info ?? 0)} info)");
        var served = Runs.Where(r => r.ServedAgainAfter is not null).Select(r => r.ServedAgainAfter!.Value.TotalSeconds).ToList();
        var converged = Runs.Where(r => r.ConvergedAfter is not null).Select(r => r.ConvergedAfter!.Value.TotalSeconds).ToList();
        if (served.Count > 0) w.WriteLine($"served again after healing: max {served.Max():0.0} s; converged after final reads: max {converged.DefaultIfEmpty().Max():0.0} s");
        w.WriteLine($"anomalies: {Anomalies}");
        w.WriteLine($"warnings: {Warnings}");
        foreach (var r in Runs.Where(r => r.Anomalies.Count > 0 || r.Warnings.Count > 0))
        {
            w.WriteLine($"  run {r.Index} (seed {r.Seed}, {r.Directory}):");
            foreach (var a in r.Anomalies) w.WriteLine($"    ANOMALY: {a.Replace("\n", "\n      ")}");
            foreach (var x in r.Warnings) w.WriteLine($"    warning: {x}");
        }
        return w.ToString();
    }
}
