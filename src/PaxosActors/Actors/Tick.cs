using Akka.Actor;

namespace PaxosActors.Actors;

/// <summary>One beat of the protocol's logical clock, sent by a role's actor to itself. Never leaves the node.</summary>
public sealed class Tick : INoSerializationVerificationNeeded
{
    public static readonly Tick Instance = new();
    private Tick() { }
}
