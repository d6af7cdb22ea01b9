using PaxosActors.Checker;

namespace PaxosActors.Tools.Chaos;

/// <summary>What one run did and found.</summary>
/// <param name="Faults">Confirmed faults by kind.</param>
/// <param name="PlannedFaults">Faults the schedule set out to inject, by kind: each should be confirmed.</param>
/// <param name="ClientOps">The clients' operations by outcome (probes and final reads not included).</param>
/// <param name="ProbeOps">The harness's own writes that check every node serves (at start and after healing).</param>
/// <param name="FinalReads">The harness's reads of every written key through every node after healing.</param>
/// <param name="Check">What the linearizability checker saw, with its time; null if the history did not read.</param>
/// <param name="Anomalies">Violations of what the system promises: a history not linearizable, a node that does not
/// serve or converge, a final read that fails.</param>
/// <param name="UnknownKeys">Keys the checker ran out of time on: not proven linearizable, so the run fails.</param>
/// <param name="HarnessErrors">Why the run did not test what it claims: a fault that was not confirmed or not undone,
/// fewer client operations than the floor.</param>
public sealed record RunResult(
    int Index, int Seed, string Directory, TimeSpan FaultPhase, IReadOnlyDictionary<string, int> Faults,
    IReadOnlyDictionary<string, int> PlannedFaults,
    OpCounts ClientOps, int ProbeOps, int FinalReads, CheckSummary? Check,
    TimeSpan? ServedAgainAfter, TimeSpan? ConvergedAfter,
    IReadOnlyList<string> Anomalies, IReadOnlyList<string> UnknownKeys, IReadOnlyList<string> HarnessErrors)
{
    /// <summary>What the membership changes did (<see cref="MembershipStats.None"/> without them). Their confirmed changes
    /// are counted here, not in <see cref="Faults"/>: an unknown outcome is a possible answer under faults, not a fault the
    /// harness failed to inject.</summary>
    public MembershipStats Membership { get; init; } = MembershipStats.None;

    public int FaultCount => Faults.Values.Sum();

    public bool Passed => Anomalies.Count == 0 && UnknownKeys.Count == 0 && HarnessErrors.Count == 0;
}
