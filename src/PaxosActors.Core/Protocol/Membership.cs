using System.Collections.Immutable;

namespace PaxosActors.Core.Protocol;

/// <summary>
/// Who takes part in the protocol for a range of slots: the acceptor set, whose majorities are the quorums, and the
/// other members, learners that do not vote (a node joins as one, catches up, and is then promoted). Equality is by
/// content.
/// </summary>
public sealed class Membership : IEquatable<Membership>
{
    private QuorumSet? _quorum;

    public Membership(IEnumerable<int> acceptors, IEnumerable<int>? learners = null)
    {
        Acceptors = acceptors.Distinct().Order().ToImmutableArray();
        if (Acceptors.IsEmpty) throw new ArgumentException("a configuration needs at least one acceptor");
        if (Acceptors.Any(a => a <= 0)) throw new ArgumentException("node ids are positive");
        Learners = (learners ?? []).Distinct().Where(l => !Acceptors.Contains(l)).Order().ToImmutableArray();
        if (Learners.Any(l => l <= 0)) throw new ArgumentException("node ids are positive");
    }

    /// <summary>The acceptors whose majorities decide, ascending.</summary>
    public ImmutableArray<int> Acceptors { get; }

    /// <summary>Members that learn but do not vote, ascending, none of them an acceptor.</summary>
    public ImmutableArray<int> Learners { get; }

    /// <summary>Every member: acceptors, then learners.</summary>
    public IEnumerable<int> Members => Acceptors.Concat(Learners);

    public QuorumSet Quorum => _quorum ??= new QuorumSet(Acceptors);

    public int Majority => Acceptors.Length / 2 + 1;

    public bool IsAcceptor(int node) => Acceptors.Contains(node);

    public bool IsMember(int node) => Acceptors.Contains(node) || Learners.Contains(node);

    /// <summary>How many of <paramref name="voters"/> are acceptors of this configuration.</summary>
    public int CountVotes(IEnumerable<int> voters) => voters.Count(v => Acceptors.Contains(v));

    public bool Equals(Membership? other) =>
        other is not null && Acceptors.SequenceEqual(other.Acceptors) && Learners.SequenceEqual(other.Learners);

    public override bool Equals(object? obj) => Equals(obj as Membership);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (int a in Acceptors) hash.Add(a);
        hash.Add(-1);
        foreach (int l in Learners) hash.Add(l);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        $"acceptors [{string.Join(", ", Acceptors)}]" + (Learners.IsEmpty ? "" : $", learners [{string.Join(", ", Learners)}]");
}

/// <summary>
/// A change of configuration, chosen in a slot of its own like any command. It takes effect <see cref="MembershipHistory.Alpha"/>
/// slots after the slot that chose it, and only if the epoch it expects is still the latest (in force or pending) when it
/// is applied: one change at a time, and a change computed from a stale view changes nothing.
/// </summary>
/// <remarks>
/// The expectation names the epoch, its first slot as well as its set, because a set can come back and a chosen value
/// can too. Paxos may choose one proposer's value in more than one slot (a leader that lost its leadership re-proposes the
/// change it had in flight, and the new leader may already have found it in its promises and chosen it), so a copy of
/// "[1,2,3] -> [1,2,3,4]" can be chosen after "[1,2,3,4] -> [1,2,3]": expected by value, it would find its set again and
/// undo the operator's acknowledged removal. <see cref="MembershipEpoch.EffectiveFrom"/> strictly increases from epoch to
/// epoch (each is the slot that chose it plus alpha), so an epoch never comes back: a copy chosen after any later change
/// finds another epoch and changes nothing, as a change from a stale view does. Every learner applies the same chosen
/// values either way; this is about the operator's intent, not agreement.
/// </remarks>
public sealed record Reconfiguration
{
    /// <summary>A change of <paramref name="expected"/>, the latest epoch (in force or pending) as its author read it, to
    /// <paramref name="next"/>.</summary>
    public Reconfiguration(MembershipEpoch expected, Membership next)
        : this(expected.Membership, expected.EffectiveFrom, next) { }

    private Reconfiguration(Membership expected, long? expectedFrom, Membership next)
    {
        Expected = expected;
        ExpectedFrom = expectedFrom;
        Next = next;
    }

    /// <summary>A change as written before changes named their epoch, expected by its set alone (see
    /// <see cref="ExpectedFrom"/>). Only for decoding such records: nothing creates one otherwise.</summary>
    public static Reconfiguration WithoutEpoch(Membership expected, Membership next) => new(expected, null, next);

    /// <summary>The configuration this change expects to be the latest.</summary>
    public Membership Expected { get; }

    /// <summary>The first slot of the epoch this change expects (<see cref="MembershipEpoch.EffectiveFrom"/>). Null only
    /// for a change written before changes named their epoch (journals and snapshots keep such records): it still
    /// matches by its set alone, as it did when it was first applied. The membership of a slot is a function of the
    /// log, and the slots after such a change were chosen with the quorums that rule gave them; applying it otherwise on a
    /// replay would give those slots other quorums than the ones that chose them.</summary>
    public long? ExpectedFrom { get; }

    /// <summary>The configuration this change makes the latest, from its effective slot on.</summary>
    public Membership Next { get; }

    /// <summary>Whether this change applies after <paramref name="latest"/>, the latest epoch: it names that epoch (or,
    /// without an epoch, only its set).</summary>
    public bool Expects(MembershipEpoch latest) =>
        Expected.Equals(latest.Membership) && (ExpectedFrom is not { } from || from == latest.EffectiveFrom);

    public override string ToString() =>
        $"from {Expected}{(ExpectedFrom is { } from ? $" (from slot {from})" : "")} to {Next}";
}

/// <summary>A configuration and the first slot it governs.</summary>
public readonly record struct MembershipEpoch(long EffectiveFrom, Membership Membership);
