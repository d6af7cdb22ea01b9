using PaxosActors.Tools.Chaos;
using Xunit.Abstractions;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PaxosActors.Chaos.Tests;

/// <summary>
/// A short chaos schedule against real node processes on loopback: SIGKILL, SIGSTOP and partitions, the
/// leader first, while clients write, read and cas. Every history must check, every node must serve and
/// converge after healing. The long version is <c>paxos-tools chaos --duration 600</c>.
/// </summary>
public sealed class ChaosSpecs(ITestOutputHelper output)
{
    [Fact]
    public async Task Multi_paxos_survives_a_seeded_fault_schedule_with_a_linearizable_history()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(35), Seed: 7, Mode: "multi"));
        Assert.True(summary.Anomalies == 0, summary.ToString());
        Assert.True(summary.Faults > 0, "no fault was injected");
        Assert.True(summary.Operations > 0, "no operation was checked");
    }

    [Fact]
    public async Task Basic_paxos_survives_a_seeded_fault_schedule_with_a_linearizable_history()
    {
        var summary = await RunAsync(new ChaosOptions(TimeSpan.FromSeconds(20), Seed: 11, Mode: "basic"));
        Assert.True(summary.Anomalies == 0, summary.ToString());
        Assert.True(summary.Faults > 0, "no fault was injected");
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
        if (summary.Anomalies == 0 && summary.Warnings == 0) Directory.Delete(out_, recursive: true);
        return summary;
    }
}
