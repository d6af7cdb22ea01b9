namespace PaxosActors.Tools.Chaos;

/// <summary>What a chaos session runs: <paramref name="Duration"/> of fault phases in total, cut into runs of at
/// most <paramref name="RunSeconds"/>, each on a fresh cluster.</summary>
public sealed record ChaosOptions(
    TimeSpan Duration, int Seed, int Nodes = 3, int Clients = 4, string Out = "./chaos-out", string Mode = "multi",
    int RunSeconds = 60, int Keys = 8);
