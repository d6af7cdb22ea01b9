namespace PaxosActors.Core.Protocol;

/// <summary>One beat of the protocol's logical clock. Every timeout in the core is a number of ticks.</summary>
public sealed class Tick : ILocalInput
{
    public static readonly Tick Instance = new();
    private Tick() { }
    public override string ToString() => "Tick";
}

/// <summary>The shell has replayed the agent's journal (every <see cref="IAgent.Recover"/> call is done): the first
/// step of every incarnation, before any message.</summary>
public sealed class Recovered : ILocalInput
{
    public static readonly Recovered Instance = new();
    private Recovered() { }
    public override string ToString() => "Recovered";
}

/// <summary>Proposer: send the client commands buffered for the leader now (<see cref="Ready.FlushWhenIdle"/>).</summary>
public sealed class Flush : ILocalInput
{
    public static readonly Flush Instance = new();
    private Flush() { }
    public override string ToString() => "Flush";
}

/// <summary>Learner: the shell stored the snapshot <see cref="Ready.SnapshotAt"/> asked for, so every slot below
/// <paramref name="NextToApply"/> is durable on this node without the journal.</summary>
public sealed record SnapshotSaved(long NextToApply) : ILocalInput;

/// <summary>From a node's learner to its acceptor: slots below <paramref name="Below"/> are chosen and in a durable
/// learner snapshot on this node, so their accepted entries may go. Local only: from anyone else it could make an
/// acceptor forget a vote.</summary>
public sealed record CompactBelow(long Below) : ILocalInput;

/// <summary>From a node's proposer to its learner, at the proposer's start: how far have you applied?</summary>
public sealed record ProgressQuery : ILocalInput
{
    public static readonly ProgressQuery Instance = new();
}

/// <summary>From a node's learner to its proposer: every slot below <paramref name="NextToApply"/> is chosen and
/// applied here, so a restarted proposer need not run the log it already knows again.</summary>
public sealed record LearnerProgress(long NextToApply) : ILocalInput
{
    /// <summary>The configurations the learner knows, as of <see cref="NextToApply"/> (empty: the seed configuration only).</summary>
    public System.Collections.Immutable.ImmutableArray<MembershipEpoch> Configurations { get; init; } =
        System.Collections.Immutable.ImmutableArray<MembershipEpoch>.Empty;

    /// <summary>Sent by a learner that has just recovered: it knows nothing chosen above <see cref="NextToApply"/> but
    /// what its journal (a cache) kept, so what its proposer was told of beyond that may be known to no learner.</summary>
    public bool Restarted { get; init; }

    public bool Equals(LearnerProgress? other) =>
        other is not null && NextToApply == other.NextToApply && Restarted == other.Restarted &&
        Configurations.SequenceEqual(other.Configurations);

    public override int GetHashCode() => HashCode.Combine(NextToApply, Restarted, Configurations.Length);
}

/// <summary>From a node's learner to its acceptor, whenever the memberships it knows change: a removed acceptor says
/// so and stops voting where its votes no longer count; one that is still starting asks the latest acceptor set.</summary>
public sealed record MembershipKnown(System.Collections.Immutable.ImmutableArray<MembershipEpoch> Epochs, long AppliedThrough) : ILocalInput;

/// <summary>From the shell to its node's proposer: a linearizable read <paramref name="Id"/> (unique on this node) was
/// issued; answer with a read point (<see cref="Ready.Reads"/>), read-index style: no log entry, no write.</summary>
public sealed record ReadIndex(long Id) : ILocalInput;
