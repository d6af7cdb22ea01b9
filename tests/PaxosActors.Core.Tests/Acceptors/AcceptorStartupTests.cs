using System.Collections.Immutable;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests.Acceptors;

/// <summary>An acceptor that lost its journal must not vote again from scratch (Paxos Made Live §5.1).</summary>
public sealed class AcceptorStartupTests
{
    private static readonly QuorumSet Three = new([1, 2, 3]);
    private static readonly QuorumSet Five = new([1, 2, 3, 4, 5]);

    private static StateReport Report(int acceptor, bool knowsAsker, Ballot? promised = null) =>
        new(acceptor, false, promised ?? Ballot.Zero, 0, [], knowsAsker);

    private static StateReport Full(int acceptor, Ballot promised, long compacted = 0, params AcceptedEntry[] entries) =>
        new(acceptor, true, promised, compacted, entries.ToImmutableArray(), true) { KnownVoters = [1, 2, 3] };

    [Fact]
    public void Acceptor_with_a_journal_votes_at_once()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: false, rebuild: false);
        Assert.Equal(StartupVerdict.Vote, startup.Verdict);
        Assert.False(startup.RecordSelf);
    }

    [Fact]
    public void New_acceptor_votes_only_after_every_other_acceptor_has_recorded_it_as_a_voter()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: false);
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
        Assert.False(startup.Query.Join);

        startup.Handle(Report(2, knowsAsker: false));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict); // acceptor 3 might know it
        Assert.Contains("3", startup.Reason);
        startup.Handle(Report(3, knowsAsker: false, promised: new Ballot(4, 2))); // the others may already be voting
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
        Assert.True(startup.Query.Join); // nobody knows it: now ask them to record it

        startup.Handle(Report(2, knowsAsker: true));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
        startup.Handle(Report(3, knowsAsker: true));
        Assert.Equal(StartupVerdict.Vote, startup.Verdict);
        Assert.True(startup.RecordSelf);
    }

    [Fact]
    public void Empty_acceptor_that_another_acceptor_knows_as_a_voter_refuses_to_vote()
    {
        var startup = new AcceptorStartup(2, Three, journalEmpty: true, rebuild: false);
        startup.Handle(Report(3, knowsAsker: true, promised: new Ballot(4, 1)));
        Assert.Equal(StartupVerdict.Refuse, startup.Verdict);
        Assert.Contains("lost its durable state", startup.Reason);
        startup.Handle(Report(1, knowsAsker: false)); // a refusal is final
        Assert.Equal(StartupVerdict.Refuse, startup.Verdict);
    }

    [Fact]
    public void Reports_from_itself_or_from_outside_the_acceptor_set_count_for_nothing()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: false);
        startup.Handle(Report(1, knowsAsker: false));
        startup.Handle(Report(9, knowsAsker: true));
        startup.Handle(Report(2, knowsAsker: false));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
        Assert.False(startup.Query.Join);
    }

    [Fact]
    public void The_only_acceptor_votes_at_once_and_records_itself()
    {
        var startup = new AcceptorStartup(1, new QuorumSet([1]), journalEmpty: true, rebuild: false);
        Assert.Equal(StartupVerdict.Vote, startup.Verdict);
        Assert.True(startup.RecordSelf);
    }

    [Fact]
    public void Rebuild_waits_for_a_majority_of_the_other_acceptors_then_adopts_the_highest_promise_and_entries()
    {
        var startup = new AcceptorStartup(1, Five, journalEmpty: true, rebuild: true);
        Assert.True(startup.Query.Full);
        var v = SlotValue.Of([7]);
        var w = SlotValue.Of([8]);
        startup.Handle(Full(2, new Ballot(5, 2), 0, new AcceptedEntry(3, new Ballot(2, 2), v)));
        startup.Handle(Full(3, new Ballot(6, 4), 0, new AcceptedEntry(3, new Ballot(4, 4), w)));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict); // two of the three needed
        startup.Handle(Full(4, Ballot.Zero));
        Assert.Equal(StartupVerdict.Rebuild, startup.Verdict);
        var rebuilt = startup.Rebuilt!;
        Assert.Equal(new Ballot(6, 4), rebuilt.Promised);
        Assert.Equal(new AcceptedEntry(3, new Ballot(4, 4), w), Assert.Single(rebuilt.Entries));
        Assert.Contains(1, rebuilt.KnownVoters); // and it still knows itself as a voter afterwards
    }

    [Fact]
    public void Rebuild_adopts_the_highest_compaction_point_and_drops_entries_below_it()
    {
        // Below a peer's compaction point the slot is chosen and that peer no longer holds the winner; an
        // entry another peer still has there may be a loser, and keeping it could get it chosen again.
        var startup = new AcceptorStartup(3, Three, journalEmpty: true, rebuild: true);
        var stale = SlotValue.Of([1]);
        startup.Handle(Full(1, new Ballot(9, 1), compacted: 100));
        startup.Handle(Full(2, new Ballot(9, 1), 0, new AcceptedEntry(60, new Ballot(2, 2), stale),
            new AcceptedEntry(100, new Ballot(9, 1), stale)));
        var rebuilt = startup.Rebuilt!;
        Assert.Equal(100, rebuilt.CompactedBelow);
        Assert.Equal(100, Assert.Single(rebuilt.Entries).Slot);
    }

    [Fact]
    public void Rebuild_ignores_reports_without_entries()
    {
        var startup = new AcceptorStartup(1, Three, journalEmpty: true, rebuild: true);
        startup.Handle(Report(2, knowsAsker: true));
        startup.Handle(Report(3, knowsAsker: true));
        Assert.Equal(StartupVerdict.Wait, startup.Verdict);
    }

    [Fact]
    public void Acceptor_records_a_joining_voter_before_confirming_it()
    {
        var acceptor = new Acceptor(2);
        var step = acceptor.Handle(new StateQuery(1, false, Join: true));
        Assert.Equal(new VoterJoined(1), step.Event);
        Assert.True(((StateReport)step.Reply!.Value.Message).KnowsAsker);
        var again = acceptor.Handle(new StateQuery(1, false, Join: false));
        Assert.Null(again.Event);
        Assert.True(((StateReport)again.Reply!.Value.Message).KnowsAsker);
        Assert.False(((StateReport)acceptor.Handle(new StateQuery(3, false, false)).Reply!.Value.Message).KnowsAsker);
    }
}
