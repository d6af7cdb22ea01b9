using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests.Protocol;

/// <summary>Majority counting over the configured acceptor set (Paxos Made Simple §2.2: any two majorities intersect).</summary>
public sealed class QuorumTrackerTests
{
    [Fact]
    public void Tracker_is_pending_until_a_majority_grants_and_then_won()
    {
        var tracker = new QuorumSet([1, 2, 3, 4, 5]).NewTracker();

        Assert.Equal(VoteResult.Pending, tracker.Result);
        Assert.Equal(VoteResult.Pending, tracker.Record(1, true));
        Assert.Equal(VoteResult.Pending, tracker.Record(2, true));
        Assert.Equal(VoteResult.Won, tracker.Record(5, true));
        Assert.Equal(3, tracker.Yes);
    }

    [Fact]
    public void Tracker_is_lost_once_a_majority_can_no_longer_be_reached()
    {
        var tracker = new QuorumSet([1, 2, 3, 4, 5]).NewTracker();

        tracker.Record(1, false);
        Assert.Equal(VoteResult.Pending, tracker.Record(2, false));
        Assert.Equal(VoteResult.Lost, tracker.Record(3, false));
    }

    [Fact]
    public void Tracker_counts_only_the_first_vote_of_each_member()
    {
        var tracker = new QuorumSet([1, 2, 3]).NewTracker();

        tracker.Record(1, true);
        Assert.Equal(VoteResult.Pending, tracker.Record(1, true));
        Assert.Equal(VoteResult.Pending, tracker.Record(1, false));
        Assert.Equal(1, tracker.Yes);
        Assert.Equal(0, tracker.No);
        Assert.True(tracker.HasVoted(1));
        Assert.False(tracker.HasVoted(2));
    }

    [Fact]
    public void Tracker_ignores_votes_from_non_members()
    {
        var tracker = new QuorumSet([1, 2, 3]).NewTracker();

        tracker.Record(1, true);
        Assert.Equal(VoteResult.Pending, tracker.Record(9, true));
        Assert.Equal(VoteResult.Pending, tracker.Record(-1, true));
        Assert.False(tracker.HasVoted(9));
        Assert.Equal(1, tracker.Yes);
    }

    [Fact]
    public void Majority_is_a_strict_majority_of_the_configured_set()
    {
        Assert.Equal(1, new QuorumSet([1]).Majority);
        Assert.Equal(2, new QuorumSet([1, 2]).Majority);
        Assert.Equal(2, new QuorumSet([1, 2, 3]).Majority);
        Assert.Equal(3, new QuorumSet([1, 2, 3, 4]).Majority);
        Assert.Equal(3, new QuorumSet([1, 2, 3, 4, 5]).Majority);
    }

    [Fact]
    public void Quorum_set_refuses_an_empty_or_repeated_membership()
    {
        Assert.Throws<ArgumentException>(() => new QuorumSet([]));
        Assert.Throws<ArgumentException>(() => new QuorumSet([1, 2, 1]));
    }
}
