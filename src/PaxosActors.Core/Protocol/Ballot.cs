namespace PaxosActors.Core.Protocol;

/// <summary>
/// A proposal number: ordered by round, then by proposer id, so two proposers never share one
/// (Paxos Made Simple §2.2: "disjoint sets of numbers"). <see cref="Zero"/> is below every real ballot.
/// One proposer must never use a round twice, across restarts too: it journals its rounds, and one whose
/// journal is lost finds a safe round from the acceptors first (<see cref="Proposers.Proposer"/>).
/// </summary>
public readonly record struct Ballot(long Round, int Proposer) : IComparable<Ballot>
{
    /// <summary>No ballot: what an acceptor has promised before any Prepare.</summary>
    public static readonly Ballot Zero = new(0, 0);

    public bool IsZero => Round == 0 && Proposer == 0;

    public int CompareTo(Ballot other)
    {
        int byRound = Round.CompareTo(other.Round);
        return byRound != 0 ? byRound : Proposer.CompareTo(other.Proposer);
    }

    public static bool operator <(Ballot a, Ballot b) => a.CompareTo(b) < 0;
    public static bool operator >(Ballot a, Ballot b) => a.CompareTo(b) > 0;
    public static bool operator <=(Ballot a, Ballot b) => a.CompareTo(b) <= 0;
    public static bool operator >=(Ballot a, Ballot b) => a.CompareTo(b) >= 0;

    public static Ballot Max(Ballot a, Ballot b) => a >= b ? a : b;

    public override string ToString() => $"{Round}.{Proposer}";
}
