using System.Collections.Immutable;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests.Acceptors;

/// <summary>An acceptor that lost its journal must not vote again from scratch (Paxos Made Live §5.1).</summary>
public sealed class AcceptorStartupTests
{
    private static readonly QuorumSet Three = new([1, 2, 3]);
    private static readonly QuorumSet Five = new([1, 2, 3, 4, 5]);

    private static StateReport Empty(int acceptor, bool full = false) => new(acceptor, full, Ballot.Zero, 0, []);

    private static StateReport Voted(int acceptor, Ballot promised, long compacted = 0, params AcceptedEntry[] entries) =>
        new(acceptor, true, promised, compacted, entries.ToImmutableArray());

    [Fact]
    public void Acceptor_with_a_journal_votes_at_once()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: false, rebuild: false);
        Assert.Equal(StartupVerdict.Vote, startup.Verdict);
    }

    [Fact]
    public void Empty_acceptor_votes_only_once_every_other_acceptor_says_it_is_empty_too()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: false);
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
        startup.Handle(Empty(2));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict); // acceptor 3 might hold the only other copy of a vote
        Assert.Contains("3", startup.Reason);
        startup.Handle(Empty(3));
        Assert.Equal(StartupVerdict.Vote, startup.Verdict);
    }

    [Fact]
    public void Empty_acceptor_refuses_to_vote_once_any_other_acceptor_has_voted()
    {
        var startup = new AcceptorStartup(2, Three, journalEmpty: true, rebuild: false);
        startup.Handle(Voted(3, new Ballot(4, 1)));
        Assert.Equal(StartupVerdict.Refuse, startup.Verdict);
        Assert.Contains("lost its durable state", startup.Reason);
        startup.Handle(Empty(1)); // a refusal is final
        Assert.Equal(StartupVerdict.Refuse, startup.Verdict);
    }

    [Fact]
    public void Reports_from_itself_or_from_outside_the_acceptor_set_count_for_nothing()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: false);
        startup.Handle(Empty(1));
        startup.Handle(Empty(9));
        startup.Handle(Empty(2));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
    }

    [Fact]
    public void Rebuild_waits_for_a_majority_of_the_other_acceptors_then_adopts_the_highest_promise_and_entries()
    {
        var startup = new AcceptorStartup(1, Five, journalEmpty: true, rebuild: true);
        var v = SlotValue.Of([7]);
        var w = SlotValue.Of([8]);
        startup.Handle(Voted(2, new Ballot(5, 2), 0, new AcceptedEntry(3, new Ballot(2, 2), v)));
        startup.Handle(Voted(3, new Ballot(6, 4), 0, new AcceptedEntry(3, new Ballot(4, 4), w)));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict); // two of the three needed
        startup.Handle(Empty(4, full: true));
        Assert.Equal(StartupVerdict.Rebuild, startup.Verdict);
        var rebuilt = startup.Rebuilt!;
        Assert.Equal(new Ballot(6, 4), rebuilt.Promised);
        Assert.Equal(new AcceptedEntry(3, new Ballot(4, 4), w), Assert.Single(rebuilt.Entries));
    }

    [Fact]
    public void Rebuild_adopts_the_highest_compaction_point_and_drops_entries_below_it()
    {
        // Below a peer's compaction point the slot is chosen and that peer no longer holds the winner; an
        // entry another peer still has there may be a loser, and keeping it could get it chosen again.
        var startup = new AcceptorStartup(3, Three, journalEmpty: true, rebuild: true);
        var stale = SlotValue.Of([1]);
        startup.Handle(Voted(1, new Ballot(9, 1), compacted: 100));
        startup.Handle(Voted(2, new Ballot(9, 1), 0, new AcceptedEntry(60, new Ballot(2, 2), stale),
            new AcceptedEntry(100, new Ballot(9, 1), stale)));
        var rebuilt = startup.Rebuilt!;
        Assert.Equal(100, rebuilt.CompactedBelow);
        Assert.Equal(100, Assert.Single(rebuilt.Entries).Slot);
    }

    [Fact]
    public void Rebuild_ignores_reports_without_entries()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: true);
        startup.Handle(Empty(2, full: false));
        startup.Handle(Empty(3, full: false));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
    }
}
