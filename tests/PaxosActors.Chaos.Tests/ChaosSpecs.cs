using PaxosActors.Tools.Chaos;
using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PaxosActors.Chaos.Tests;

/// <summary>
/// A short chaos schedule against real node processes on loopback: SIGKILL, SIGSTOP and partitions, the
/// leader first, and changes of the acceptor set (a spare node outside it), while clients write, read and cas. Every history must check (no anomaly, no key the checker
/// did not finish), every node must serve and converge to the same applied slot and kv_digest after healing,
/// every fault scheduled must be confirmed, and the clients must complete at least the floor of operations.
/// The control run breaks one node on purpose and must be caught: the pipeline can fail. The long version is
/// <c>paxos-tools chaos --duration 600</c>.
/// </summary>
public sealed class ChaosSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Multi_paxos_survives_a_seeded_fault_schedule_with_a_linearizable_history()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(35), Seed: 21, Mode: "multi"));
        AssertCleanRun(summary);
        // Seed 21 draws every kind of fault within its first 15 s (isolate + pause, kill, split): each must have
        // happened, not merely been tried.
        foreach (var kind in FaultKinds.Counted)
            Assert.True(summary.FaultsByKind.GetValueOrDefault(kind) > 0, $"no {kind} was confirmed\n{summary}");
        // And the acceptor set changed meanwhile: the membership stream of seed 21 starts with a replacement by the spare
        // (node 4), drawn to overlap the first faults (in a trial run: added while node 2 was cut off and node 1 paused).
        // Confirmed means answered 200 with the set asked for in force.
        var membership = summary.Membership;
        Assert.Equal(1, summary.Options.SpareNodes);
        Assert.True(membership.ConfirmedTotal > 0, $"no membership change was confirmed\n{summary}");
        Assert.True(membership.Confirmed.GetValueOrDefault(MembershipChanges.ReplaceAdd) > 0, $"the spare was never added\n{summary}");
        Assert.True(membership.Confirmed.GetValueOrDefault(MembershipChanges.ReplaceRemove) > 0, $"no acceptor was replaced\n{summary}");
    }

    [Fact]
    public async Task Basic_paxos_survives_a_seeded_fault_schedule_with_a_linearizable_history()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(20), Seed: 11, Mode: "basic"));
        AssertCleanRun(summary);
    }

    /// <summary>The control: node 3 answers GET from its own state, past the log, and is cut off from the others again
    /// and again while the clients write through them. Its reads are stale, and the run must say so, naming the key.</summary>
    [Fact]
    public async Task A_node_that_reads_past_the_log_is_caught_as_not_linearizable()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(20), Seed: 5, Mode: "multi")
        {
            Faults = [FaultKinds.Isolate], Target = 3, StaleReadNode = 3,
        });

        var run = Assert.Single(summary.Runs);
        Assert.False(summary.Passed, $"the broken node went unnoticed:\n{summary}");
        Assert.True(summary.Anomalies > 0, summary.ToString());
        Assert.Contains(run.Anomalies, a => a.StartsWith("NOT linearizable on key k", StringComparison.Ordinal));
        // Caught for what it is, by a check that ran to the end on a run that did what it claims.
        Assert.All(run.Anomalies, a => Assert.StartsWith("NOT linearizable on key ", a));
        Assert.True(summary.Unknowns == 0, summary.ToString());
        Assert.True(summary.HarnessErrors == 0, summary.ToString());
        Assert.True(summary.FaultsByKind.GetValueOrDefault(FaultKinds.Isolate) > 0, summary.ToString());
        Assert.True(summary.ClientOps.Ok >= summary.Options.MinOps, summary.ToString());
        Directory.Delete(Path.GetDirectoryName(run.Directory)!, recursive: true); // failed as it must: nothing to keep
    }

    /// <summary>The run's other verdicts can fail too: a run whose clients complete fewer operations than the floor, and
    /// one whose checker does not finish (here, a budget of zero), fail, though nothing in the cluster went wrong.</summary>
    [Fact]
    public async Task A_run_that_checks_too_little_or_does_not_finish_checking_fails()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(5), Seed: 3, Mode: "multi")
        {
            MinOps = 1_000_000, CheckBudget = TimeSpan.Zero,
        });

        var run = Assert.Single(summary.Runs);
        string report = summary.ToString();
        Assert.False(summary.Passed, report);
        Assert.Empty(run.Anomalies);
        Assert.Contains(run.HarnessErrors, e => e.Contains("below the floor of 1000000"));
        Assert.True(run.UnknownKeys.Count > 0 && run.UnknownKeys.Count == run.Check!.Keys, report);
        Assert.Contains("not proven linearizable", run.UnknownKeys[0]);
        Directory.Delete(Path.GetDirectoryName(run.Directory)!, recursive: true); // failed as it must: nothing to keep
    }

    /// <summary>What a normal run must show: nothing wrong, and enough done for that to mean something.</summary>
    private static void AssertCleanRun(ChaosSummary summary)
    {
        string report = summary.ToString();
        Assert.True(summary.Anomalies == 0, report);
        Assert.True(summary.Unknowns == 0, report);
        Assert.True(summary.HarnessErrors == 0, report);
        Assert.True(summary.Passed, report);
        Assert.True(summary.Faults > 0, "no fault was confirmed\n" + report);
        foreach (var (kind, planned) in summary.PlannedByKind)
            Assert.True(summary.FaultsByKind.GetValueOrDefault(kind) == planned, $"{kind}: {summary.FaultsByKind.GetValueOrDefault(kind)} of {planned} confirmed\n{report}");
        Assert.Equal(ChaosOptions.DefaultMinOps, summary.Options.MinOps);
        foreach (var run in summary.Runs)
        {
            // Membership changes on (the default): every node agreed on the set after healing, and it kept a majority of
            // the first one's count (else an anomaly above).
            Assert.True(run.Membership.LastAcceptors is { Count: >= 2 }, $"run {run.Index}: no acceptor set agreed after healing\n{report}");
            Assert.True(run.ClientOps.Ok >= summary.Options.MinOps, $"run {run.Index}: {run.ClientOps}\n{report}");
            Assert.True(run.ConvergedAfter is not null, $"run {run.Index} did not converge\n{report}");
            Assert.True(run.Check is { UnknownKeys: 0 } && run.Check.Operations > run.ClientOps.Total, $"run {run.Index}: {run.Check}\n{report}");
        }
    }

    private async Task<ChaosSummary> RunAsync(ChaosOptions options)
    {
        var out_ = Path.Combine(Path.GetTempPath(), $"paxos-chaos-{Guid.NewGuid():N}");
        var log = new StringWriter();
        // Bounded: a wedged run fails the test instead of hanging CI.
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var summary = await ChaosSession.RunAsync(options with { Out = out_ }, log, cts.Token);
        output.WriteLine(log.ToString());
        output.WriteLine(summary.ToString());
        if (summary.Passed) Directory.Delete(out_, recursive: true);
        return summary;
    }
}
