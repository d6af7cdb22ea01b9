namespace PaxosActors.Tools.Chaos;

/// <summary>What a chaos session runs: <paramref name="Duration"/> of fault phases in total, cut into runs of at
/// most <paramref name="RunSeconds"/>, each on a fresh cluster.</summary>
public sealed record ChaosOptions(
    TimeSpan Duration, int Seed, int Nodes = 3, int Clients = 4, string Out = "./chaos-out", string Mode = "multi",
    int RunSeconds = 60, int Keys = 8)
{
    /// <summary>The default <see cref="MinOps"/>: a run's clients complete hundreds of operations ok even under faults
    /// (40-180 a second in multi mode, about 15 in basic, on a shared 2-core machine: a 20 s basic run completes about
    /// 500), and a run that completes fewer checked too little to mean anything.</summary>
    public const int DefaultMinOps = 100;

    /// <summary>Each run's clients must complete at least this many operations ok (reads, writes, cas; the harness's
    /// own probe writes and final reads do not count), or the run fails: a history with (almost) nothing in it
    /// checks vacuously.</summary>
    public int MinOps { get; init; } = DefaultMinOps;

    /// <summary>The linearizability checker's time budget per run; a key it does not finish within it fails the run.</summary>
    public TimeSpan CheckBudget { get; init; } = ChaosRun.CheckTimeout;

    /// <summary>The kinds of fault to draw from (<see cref="FaultKinds"/>); null: all.</summary>
    public IReadOnlyList<string>? Faults { get; init; }

    /// <summary>Nodes that start outside the acceptor set (ids after <see cref="Nodes"/>), for membership changes to add:
    /// null, one when the faults include <see cref="FaultKinds.Member"/> and none otherwise.</summary>
    public int? Spares { get; init; }

    /// <summary>Whether the acceptor set is changed among the faults (<see cref="FaultKinds.Member"/>).</summary>
    public bool MembershipChanges => Faults is null || Faults.Contains(FaultKinds.Member);

    /// <summary>The spares the cluster runs: <see cref="Spares"/>, or its default.</summary>
    public int SpareNodes => Spares ?? (MembershipChanges ? 1 : 0);

    /// <summary>Aim every fault at this node; null: the leader 60% of the time, else a random node.</summary>
    public int? Target { get; init; }

    /// <summary>The control run's deliberately broken node: it answers reads from its own state, past the log
    /// (<c>paxos.fault-injection-stale-reads</c>). The checker must flag the history; null: no broken node.</summary>
    public int? StaleReadNode { get; init; }

    /// <summary>Replay one run: its seed (as a session printed it), with <see cref="Duration"/> as its fault phase.
    /// Null: a session whose run seeds derive from <see cref="Seed"/>.</summary>
    public int? RunSeed { get; init; }

    /// <summary>A HOCON file every node reads over its built-in configuration (<c>node --extra-config</c>), to run the same
    /// faults against other settings (a failure detector, the split brain resolver); an absolute path. Null: none.</summary>
    public string? NodeConfig { get; init; }

    /// <summary>The nodes' default <see cref="LogLevel"/>: their logs show faults, decisions and errors, not every join.</summary>
    public const string DefaultLogLevel = "WARNING";

    /// <summary>The nodes' Akka log level (<c>node --log-level</c>, which wins over <see cref="NodeConfig"/>): INFO shows the
    /// cluster's joins, welcomes and leader moves, to see where a rejoin waits.</summary>
    public string LogLevel { get; init; } = DefaultLogLevel;

    /// <summary>The command line that replays the run of <paramref name="seed"/> with a fault phase of <paramref name="phase"/>.</summary>
    public string ReplayCommand(int seed, TimeSpan phase) =>
        $"paxos-tools chaos --run-seed {seed} --duration {phase.TotalSeconds:0} --nodes {Nodes} --spares {SpareNodes} --mode {Mode} --clients {Clients} --keys {Keys}" +
        $" --min-ops {MinOps}" +
        (Faults is { } f ? $" --faults {string.Join(",", f)}" : "") +
        (Target is { } t ? $" --target {t}" : "") +
        (StaleReadNode is { } s ? $" --stale-reads-node {s}" : "") +
        (NodeConfig is { } c ? $" --node-config {c}" : "") +
        (LogLevel != DefaultLogLevel ? $" --log-level {LogLevel}" : "");
}
