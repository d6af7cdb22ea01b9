namespace PaxosActors.Core.Learners;

/// <summary>A state machine that can be captured and replaced whole: for learner snapshots (so the journal
/// can be compacted) and for bringing a learner that is far behind up to date from a peer.</summary>
public interface ISnapshotStateMachine : IStateMachine
{
    /// <summary>The applied state, deterministic for the same state.</summary>
    byte[] TakeSnapshot();

    /// <summary>Replaces the whole state with one taken by <see cref="TakeSnapshot"/>.</summary>
    void RestoreSnapshot(byte[] state);
}
