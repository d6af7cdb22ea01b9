using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Acceptors;

/// <summary>What an acceptor writes to its journal. Each is durable before any reply that depends on it leaves.</summary>
public interface IAcceptorEvent : IJournalRecord;

/// <summary>The acceptor promised <paramref name="Ballot"/>: it will accept nothing below it.</summary>
public sealed record Promised(Ballot Ballot) : IAcceptorEvent;

/// <summary>The acceptor accepted <paramref name="Value"/> for <paramref name="Slot"/> at
/// <paramref name="Ballot"/>, which also raises its promise to that ballot.</summary>
public sealed record Voted(long Slot, Ballot Ballot, SlotValue Value) : IAcceptorEvent;

/// <summary>Slots below <paramref name="Below"/> are chosen and held in a learner's durable snapshot, so the
/// acceptor drops their entries.</summary>
public sealed record Compacted(long Below) : IAcceptorEvent;

/// <summary>Acceptor <paramref name="Acceptor"/> has joined the cluster as a voter: if it ever starts again
/// with an empty journal, it lost its state (see <see cref="AcceptorStartup"/>).</summary>
public sealed record VoterJoined(int Acceptor) : IAcceptorEvent;

/// <summary>Acceptor <paramref name="Acceptor"/> (this one), starting with no state of its own, heard from every acceptor in
/// <paramref name="Cleared"/> that they did not know it as a voter, and is about to ask them to record it. Written before
/// that request leaves, so after a restart an acceptor of <paramref name="Cleared"/> that knows it is explained by the
/// request, not by a lost journal: it goes on joining instead of refusing (see <see cref="AcceptorStartup"/>).</summary>
public sealed record JoinAsked(int Acceptor, ImmutableArray<int> Cleared) : IAcceptorEvent
{
    public bool Equals(JoinAsked? other) => other is not null && Acceptor == other.Acceptor && Cleared.SequenceEqual(other.Cleared);

    public override int GetHashCode() => HashCode.Combine(Acceptor, Cleared.Length);
}

/// <summary>The acceptor rebuilt its lost state from a majority of the others (<see cref="AcceptorStartup"/>).</summary>
public sealed record Rebuilt(AcceptorSnapshot State) : IAcceptorEvent;

/// <summary>The whole durable state of an acceptor, for Akka.Persistence snapshots.</summary>
public sealed record AcceptorSnapshot(Ballot Promised, long CompactedBelow, ImmutableArray<AcceptedEntry> Entries) : IJournalRecord
{
    /// <summary>The acceptors known to have joined as voters (this one included, once it has).</summary>
    public ImmutableArray<int> KnownVoters { get; init; } = ImmutableArray<int>.Empty;

    public bool Equals(AcceptorSnapshot? other) =>
        other is not null && Promised == other.Promised && CompactedBelow == other.CompactedBelow &&
        Entries.SequenceEqual(other.Entries) && KnownVoters.SequenceEqual(other.KnownVoters);

    public override int GetHashCode() => HashCode.Combine(Promised, CompactedBelow, Entries.Length);
}
