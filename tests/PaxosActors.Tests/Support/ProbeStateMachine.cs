using Akka.Actor;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Tests.Support;

/// <summary>What a learner applied, as a message a probe can expect.</summary>
public sealed record AppliedSlot(long Slot, SlotValue Value) : INoSerializationVerificationNeeded;

/// <summary>A state machine that reports every apply to a probe.</summary>
public sealed class ProbeStateMachine(IActorRef probe) : IStateMachine
{
    public void Apply(long slot, SlotValue value) => probe.Tell(new AppliedSlot(slot, value));
}
