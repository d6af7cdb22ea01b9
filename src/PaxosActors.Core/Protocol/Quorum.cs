using System.Collections.Immutable;
using System.Numerics;

namespace PaxosActors.Core.Protocol;

/// <summary>Outcome of a vote so far, as etcd's quorum package has it.</summary>
public enum VoteResult { Pending, Won, Lost }

/// <summary>
/// The configured acceptor set and its majority. Quorums are counted over this set, never over
/// whoever happens to be reachable: counting current members lets two disjoint "majorities" form
/// on both sides of a partition.
/// </summary>
public sealed class QuorumSet
{
    public const int MaxMembers = 64;
    private readonly Dictionary<int, int> _indexOf;

    public QuorumSet(IEnumerable<int> members)
    {
        Members = members.ToImmutableArray();
        if (Members.IsEmpty) throw new ArgumentException("an acceptor set needs at least one member");
        if (Members.Length > MaxMembers) throw new ArgumentException($"at most {MaxMembers} acceptors");
        if (Members.Distinct().Count() != Members.Length) throw new ArgumentException("an acceptor is listed twice");
        _indexOf = Members.Select((m, i) => (m, i)).ToDictionary(p => p.m, p => p.i);
    }

    public ImmutableArray<int> Members { get; }

    /// <summary>Votes needed to win: a strict majority, so any two quorums intersect.</summary>
    public int Majority => Members.Length / 2 + 1;

    public bool Contains(int node) => _indexOf.ContainsKey(node);

    internal int IndexOf(int node) => _indexOf.TryGetValue(node, out int i) ? i : -1;

    public QuorumTracker NewTracker() => new(this);
}

/// <summary>
/// Counts yes and no votes from distinct members of a <see cref="QuorumSet"/>. A repeated vote
/// from the same member, or a vote from a non-member, changes nothing.
/// </summary>
public sealed class QuorumTracker
{
    private readonly QuorumSet _set;
    private ulong _yes;
    private ulong _no;

    internal QuorumTracker(QuorumSet set) => _set = set;

    /// <summary>The members whose votes count.</summary>
    public ImmutableArray<int> Members => _set.Members;

    public bool Contains(int voter) => _set.Contains(voter);

    public int Yes => BitOperations.PopCount(_yes);
    public int No => BitOperations.PopCount(_no);

    public VoteResult Result =>
        Yes >= _set.Majority ? VoteResult.Won
        : _set.Members.Length - No < _set.Majority ? VoteResult.Lost
        : VoteResult.Pending;

    /// <summary>Records <paramref name="voter"/>'s vote; the first vote of each member is the one that counts.</summary>
    public VoteResult Record(int voter, bool granted)
    {
        int i = _set.IndexOf(voter);
        if (i >= 0)
        {
            ulong bit = 1UL << i;
            if (((_yes | _no) & bit) == 0)
            {
                if (granted) _yes |= bit;
                else _no |= bit;
            }
        }
        return Result;
    }

    public bool HasVoted(int voter)
    {
        int i = _set.IndexOf(voter);
        return i >= 0 && ((_yes | _no) & (1UL << i)) != 0;
    }
}
