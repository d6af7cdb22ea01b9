using PaxosActors.Checker;

namespace PaxosActors.Tools.Chaos;

/// <summary>What one run did and found.</summary>
public sealed record RunResult(
    int Index, int Seed, string Directory, IReadOnlyDictionary<string, int> Faults, CheckSummary? Check,
    TimeSpan? ServedAgainAfter, TimeSpan? ConvergedAfter, IReadOnlyList<string> Anomalies, IReadOnlyList<string> Warnings)
{
    public int FaultCount => Faults.Values.Sum();
}
