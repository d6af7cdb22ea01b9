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
/// slots after the slot that chose it, and only if <paramref name="Expected"/> is still the latest configuration (in force or
/// pending) when it is applied: one change at a time, and a change computed from a stale view changes nothing.
/// </summary>
public sealed record Reconfiguration(Membership Expected, Membership Next);

/// <summary>A configuration and the first slot it governs.</summary>
public readonly record struct MembershipEpoch(long EffectiveFrom, Membership Membership);
