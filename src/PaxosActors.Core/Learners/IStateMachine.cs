using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Learners;

/// <summary>What a learner drives: chosen values, applied once each, in slot order.</summary>
public interface IStateMachine
{
    /// <summary>Applies the value chosen for <paramref name="slot"/>. Called for slot 0, 1, 2, … with no gaps.</summary>
    void Apply(long slot, SlotValue value);
}
