using System.Collections.Immutable;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Acceptors;

/// <summary>An acceptor that lost its journal must not vote again from scratch (Paxos Made Live §5.1).</summary>
public sealed class AcceptorStartupTests
{
    private static readonly Ballot B = new(4, 2);

    private static StateReport Report(int acceptor, bool knowsAsker, Ballot? promised = null) =>
        new(acceptor, false, promised ?? Ballot.Zero, 0, [], knowsAsker);

    private static StateReport Full(int acceptor, Ballot promised, long compacted = 0, params AcceptedEntry[] entries) =>
        new(acceptor, true, promised, compacted, entries.ToImmutableArray(), true) { KnownVoters = [1, 2, 3] };

    /// <summary>An acceptor with an empty journal and lost-state detection on, as every real node runs it; not yet stepped.</summary>
    private static Acceptor Empty(int id, QuorumSet acceptors, bool rebuild = false, int queryTicks = 50) =>
        new(id, new AcceptorOptions(acceptors) { Rebuild = rebuild, StartupQueryTicks = queryTicks });

    private static StateReport ReportIn(Ready ready) => Assert.IsType<StateReport>(Assert.Single(ready.Messages).Message);

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
        var acceptor = Agents.VotingAcceptor(2);
        var ready = acceptor.Step(new StateQuery(1, false, Join: true));
        Assert.Equal([new VoterJoined(1)], ready.Persist);
        Assert.True(ReportIn(ready).KnowsAsker);
        var again = acceptor.Step(new StateQuery(1, false, Join: false));
        Assert.Empty(again.Persist);
        Assert.True(ReportIn(again).KnowsAsker);
        Assert.False(ReportIn(acceptor.Step(new StateQuery(3, false, false))).KnowsAsker);
    }

    // The acceptor runs the verdict itself from its first step on: Recovered, then the others' StateReports.

    [Fact] // it has no state of its own before its journal is replayed: a promise then would be a blank one
    public void Acceptor_ignores_prepares_accepts_and_queries_before_it_has_recovered_its_journal()
    {
        var recovering = new Acceptor(1, new AcceptorOptions(Three) { DetectLostState = false });
        recovering.Recover(new Promised(new Ballot(9, 3)));

        Assert.True(recovering.Step(new Prepare(B, 0)).IsEmpty);
        Assert.True(recovering.Step(new Accept(B, 0, SlotValue.Of([1]))).IsEmpty);
        Assert.True(recovering.Step(new RoundQuery(2, 1)).IsEmpty);
        Assert.True(recovering.Step(new StateQuery(2, false, Join: true)).IsEmpty);
        Assert.Equal(AcceptorMode.Recovering, recovering.Mode);
        Assert.Null(recovering.EntryAt(0));
        Assert.False(recovering.Knows(2));

        // The same inputs after Recovered: it answers, and what it answers comes from the journal.
        recovering.Step(Recovered.Instance);
        Assert.Equal(AcceptorMode.Voting, recovering.Mode);
        Assert.Equal(new Nack(B, 1, new Ballot(9, 3)), Assert.Single(recovering.Step(new Prepare(B, 0)).Messages).Message);
        Assert.Equal(new StateReport(1, false, new Ballot(9, 3), 0, [], false),
            Assert.Single(recovering.Step(new StateQuery(2, false, false)).Messages).Message);
    }

    [Fact] // Paxos Made Live §5.1: an empty journal may be a lost one, so it asks before its first vote
    public void Acceptor_with_an_empty_journal_asks_the_others_and_casts_no_vote_until_it_has_a_verdict()
    {
        var acceptor = Empty(1, Three);

        var first = acceptor.Step(Recovered.Instance);

        Assert.Equal(AcceptorMode.Starting, acceptor.Mode);
        Assert.Equal(StartupVerdict.Wait, acceptor.Verdict);
        Assert.Empty(first.Persist);
        Assert.Equal(
            [new Outgoing(AgentId.Acceptor(2), new StateQuery(1, false, false)), new Outgoing(AgentId.Acceptor(3), new StateQuery(1, false, false))],
            first.Messages);
        Assert.True(acceptor.Step(new Prepare(B, 0)).IsEmpty);
        Assert.True(acceptor.Step(new Accept(B, 0, SlotValue.Of([1]))).IsEmpty);
        Assert.True(acceptor.Step(new RoundQuery(2, 1)).IsEmpty);
        Assert.Equal(Ballot.Zero, acceptor.Promised);
        Assert.Null(acceptor.EntryAt(0));

        // It still answers the others' questions: they may be starting too.
        var answer = acceptor.Step(new StateQuery(3, false, false));
        Assert.Equal([new Outgoing(AgentId.Acceptor(3), new StateReport(1, false, Ballot.Zero, 0, [], false))], answer.Messages);
    }

    [Fact] // Paxos Made Live §5.1
    public void Empty_acceptor_refuses_to_vote_for_good_when_another_acceptor_knows_it_as_a_voter()
    {
        var acceptor = Empty(2, Three);
        acceptor.Step(Recovered.Instance);

        var ready = acceptor.Step(Report(3, knowsAsker: true, promised: B));

        Assert.Equal(AcceptorMode.Refusing, acceptor.Mode);
        Assert.Equal(StartupVerdict.Refuse, acceptor.Verdict);
        Assert.Empty(ready.Persist);
        Assert.Contains(ready.Notices, n => n.Level == NoticeLevel.Error && n.Text.Contains("lost its durable state"));
        Assert.True(acceptor.Step(new Prepare(new Ballot(5, 1), 0)).IsEmpty);
        Assert.True(acceptor.Step(new Accept(new Ballot(5, 1), 0, SlotValue.Of([1]))).IsEmpty);
        Assert.True(acceptor.Step(Report(1, knowsAsker: false)).IsEmpty); // a refusal is final
        Assert.Empty(acceptor.Ticks(200).Messages); // a refusing acceptor stops asking
        Assert.Equal(AcceptorMode.Refusing, acceptor.Mode);
    }

    [Fact]
    public void New_acceptor_votes_once_every_other_acceptor_recorded_it_and_journals_itself_as_a_voter()
    {
        var acceptor = Empty(1, Three);
        acceptor.Step(Recovered.Instance);
        Assert.Empty(acceptor.Step(Report(2, knowsAsker: false)).Messages);

        var join = acceptor.Step(Report(3, knowsAsker: false));

        // Nobody knows it: the next question, to record it, leaves at once.
        Assert.Equal(AcceptorMode.Starting, acceptor.Mode);
        Assert.Equal(
            [new Outgoing(AgentId.Acceptor(2), new StateQuery(1, false, Join: true)), new Outgoing(AgentId.Acceptor(3), new StateQuery(1, false, Join: true))],
            join.Messages);
        Assert.Empty(acceptor.Step(Report(2, knowsAsker: true)).Persist);
        Assert.Equal(AcceptorMode.Starting, acceptor.Mode);

        var vote = acceptor.Step(Report(3, knowsAsker: true));

        Assert.Equal([new VoterJoined(1)], vote.Persist);
        Assert.Equal(AcceptorMode.Voting, acceptor.Mode);
        Assert.True(acceptor.Knows(1));
        Assert.IsType<Promise>(Assert.Single(acceptor.Step(new Prepare(B, 0)).Messages).Message);

        // Its journal now holds that event: a restart goes straight to voting, asking nobody.
        var restarted = Empty(1, Three);
        restarted.Recover(new VoterJoined(1));
        var again = restarted.Step(Recovered.Instance);
        Assert.Equal(AcceptorMode.Voting, restarted.Mode);
        Assert.Empty(again.Messages);
    }

    [Fact] // a new acceptor some of the others recorded, when the set changes before the rest did
    public void A_joining_acceptor_whose_set_changes_is_not_taken_for_one_that_lost_its_state_by_those_that_recorded_it()
    {
        // Node 4 starts empty with the configured set [1, 2, 3]: nobody knows it, and 1 and 2 record it; 3 is down.
        var acceptor = Empty(4, Three);
        acceptor.Step(Recovered.Instance);
        acceptor.StepEach(Report(1, knowsAsker: false), Report(2, knowsAsker: false), Report(3, knowsAsker: false));
        acceptor.StepEach(Report(1, knowsAsker: true), Report(2, knowsAsker: true));
        Assert.Equal(AcceptorMode.Starting, acceptor.Mode);

        // Its learner now knows [1, 2, 4] (3 replaced by 4): it asks the new set's others again.
        var asked = acceptor.Step(new MembershipKnown([new(0, new Membership([1, 2, 3])), new(5, new Membership([1, 2, 4]))], AppliedThrough: 0));
        Assert.Equal([AgentId.Acceptor(1), AgentId.Acceptor(2)], asked.Messages.Select(m => m.To));

        // 1 and 2 know it, because it asked them to record it: that is no sign of a lost journal, and with both it votes.
        acceptor.StepEach(asked.Messages.Select(m => (IInput)Report(m.To.Node, knowsAsker: true)));
        Assert.NotEqual(AcceptorMode.Refusing, acceptor.Mode);
        for (int i = 0; i < 3 && acceptor.Mode == AcceptorMode.Starting; i++)
        {
            var again = acceptor.Ticks(50);
            acceptor.StepEach(again.Messages.Where(m => m.Message is StateQuery).Select(m => (IInput)Report(m.To.Node, knowsAsker: true)));
        }
        Assert.Equal(AcceptorMode.Voting, acceptor.Mode);
        Assert.True(acceptor.Knows(4));
    }

    [Fact] // found by the simulation: 530 of 22,000 seeds had an acceptor refusing that never lost its journal
    public void A_new_acceptor_restarted_while_joining_goes_on_joining_and_does_not_refuse()
    {
        var acceptor = Empty(1, Three);
        acceptor.Step(Recovered.Instance);
        acceptor.Step(Report(2, knowsAsker: false));
        var join = acceptor.Step(Report(3, knowsAsker: false));
        // The list of those that did not know it is journaled before the requests to record it, which wait behind it.
        Assert.Equal([new JoinAsked(1, [2, 3])], join.Persist);
        Assert.All(join.Messages, m => Assert.True(((StateQuery)m.Message).Join));
        acceptor.Step(Report(2, knowsAsker: true)); // 2 recorded it; the process dies before 3 answers

        var restarted = Empty(1, Three);
        foreach (var e in join.Persist) restarted.Recover(e);
        restarted.Step(Recovered.Instance);
        restarted.StepEach(Report(2, knowsAsker: true), Report(3, knowsAsker: false)); // 2 knows it: because it asked
        Assert.Equal(AcceptorMode.Starting, restarted.Mode);
        var vote = restarted.StepEach(Report(2, knowsAsker: true), Report(3, knowsAsker: true));
        Assert.Equal(AcceptorMode.Voting, restarted.Mode);
        Assert.Contains(new VoterJoined(1), vote.Persist);
    }

    [Fact]
    public void An_acceptor_restarted_while_joining_still_refuses_when_one_it_never_heard_from_knows_it()
    {
        var acceptor = Empty(4, new QuorumSet([1, 2, 3, 4]));
        foreach (var e in new IJournalRecord[] { new JoinAsked(4, [1, 2]) }) acceptor.Recover(e);
        acceptor.Step(Recovered.Instance);
        acceptor.Step(Report(3, knowsAsker: true)); // 3 never said it did not know it: a voter before, state lost since
        Assert.Equal(AcceptorMode.Refusing, acceptor.Mode);
    }

    [Fact] // and still: one the new set's others knew before it asked is one that lost its state
    public void A_joining_acceptor_whose_set_changes_still_refuses_when_an_acceptor_it_never_asked_to_record_it_knows_it()
    {
        var acceptor = Empty(4, Three);
        acceptor.Step(Recovered.Instance);
        acceptor.StepEach(Report(1, knowsAsker: false), Report(2, knowsAsker: false), Report(3, knowsAsker: false));
        acceptor.Step(Report(1, knowsAsker: true)); // only 1 recorded it so far

        acceptor.Step(new MembershipKnown([new(0, new Membership([1, 2, 3])), new(5, new Membership([1, 4, 5]))], AppliedThrough: 0));
        acceptor.Step(Report(5, knowsAsker: true)); // 5 knew it as a voter, and was never asked to record it
        Assert.Equal(AcceptorMode.Refusing, acceptor.Mode);
    }

    [Fact] // the rebuilt state meets every quorum the lost one took part in (see AcceptorStartup)
    public void Acceptor_asked_to_rebuild_adopts_the_state_of_a_majority_of_the_others_journals_it_and_votes()
    {
        var acceptor = Empty(1, Five, rebuild: true);
        var v = SlotValue.Of([7]);
        var w = SlotValue.Of([8]);

        var first = acceptor.Step(Recovered.Instance);
        Assert.Equal(4, first.Sent<StateQuery>(Agent.Acceptor).Count(q => q == new StateQuery(1, Full: true, Join: false)));
        Assert.Empty(acceptor.Step(Full(2, new Ballot(5, 2), 0, new AcceptedEntry(3, new Ballot(2, 2), v))).Persist);
        Assert.Empty(acceptor.Step(Full(3, new Ballot(6, 4), 0, new AcceptedEntry(3, new Ballot(4, 4), w))).Persist);
        Assert.Equal(AcceptorMode.Starting, acceptor.Mode); // two of the three needed

        var rebuilt = acceptor.Step(Full(4, Ballot.Zero));

        var state = Assert.IsType<Rebuilt>(Assert.Single(rebuilt.Persist)).State;
        Assert.Equal(new Ballot(6, 4), state.Promised);
        Assert.Contains(rebuilt.Notices, n => n.Level == NoticeLevel.Warning);
        Assert.Equal(AcceptorMode.Voting, acceptor.Mode);
        Assert.Equal(new AcceptedEntry(3, new Ballot(4, 4), w), acceptor.EntryAt(3));
        Assert.True(acceptor.Knows(1));
        Assert.Equal(new Nack(new Ballot(5, 5), 1, new Ballot(6, 4)), Assert.Single(acceptor.Step(new Prepare(new Ballot(5, 5), 0)).Messages).Message);

        // The Rebuilt event is the state: replayed, it gives the same acceptor.
        var restarted = Empty(1, Five, rebuild: true);
        restarted.Recover(rebuilt.Persist[0]);
        restarted.Step(Recovered.Instance);
        Assert.Equal(acceptor.Snapshot(), restarted.Snapshot());
        Assert.Equal(AcceptorMode.Voting, restarted.Mode);
    }

    [Fact] // a lost StateQuery or StateReport must not leave it starting forever
    public void Starting_acceptor_asks_again_every_StartupQueryTicks_ticks_until_it_has_a_verdict()
    {
        var acceptor = Empty(1, Three, queryTicks: 5);
        acceptor.Step(Recovered.Instance);

        Assert.Empty(acceptor.Ticks(4).Messages);
        var again = acceptor.Step(Tick.Instance);
        Assert.Equal([2, 3], again.Messages.Where(m => m.Message is StateQuery).Select(m => m.To.Node));
        Assert.Empty(acceptor.Ticks(4).Messages);
        Assert.Equal(2, acceptor.Step(Tick.Instance).Sent<StateQuery>(Agent.Acceptor).Count);

        acceptor.Step(Report(2, knowsAsker: false));
        acceptor.Step(Report(3, knowsAsker: false));
        acceptor.Step(Report(2, knowsAsker: true));
        acceptor.Step(Report(3, knowsAsker: true));
        Assert.Equal(AcceptorMode.Voting, acceptor.Mode);
        Assert.Empty(acceptor.Ticks(20).Messages); // a voting acceptor asks nothing
    }

    // Two start-up bugs found while migrating these tests (both in the old actor too), fixed in the acceptor.

    [Fact] // Paxos Made Live §5.1
    public void Acceptor_that_refuses_writes_nothing_that_would_make_its_next_start_vote_from_the_blank_state()
    {
        var lost = Empty(3, Three);
        lost.Step(Recovered.Instance);
        lost.Step(Report(1, knowsAsker: true));
        Assert.Equal(AcceptorMode.Refusing, lost.Mode);

        // Its learner, caught up from the others, saved a snapshot and tells it to compact, as after every snapshot.
        var journal = lost.Step(new CompactBelow(10_000)).Persist;

        var restarted = Empty(3, Three);
        foreach (var record in journal) restarted.Recover(record);
        restarted.Step(Recovered.Instance);
        Assert.NotEqual(AcceptorMode.Voting, restarted.Mode);
        Assert.True(restarted.Step(new Prepare(new Ballot(1, 1), 10_000)).IsEmpty, "it promised from a blank state");
    }


    [Fact] // the intersection argument in AcceptorStartup
    public void Rebuilding_acceptor_does_not_count_the_blank_report_of_another_acceptor_without_its_state()
    {
        // Slot 0 was chosen as v at 3.5 by acceptors 1, 2 and 5; then acceptors 1 and 2 lost their journals and both
        // restart with --rebuild-acceptor. Only acceptor 5 of the others still holds v.
        var v = SlotValue.Of([7]);
        var others = new Dictionary<int, Acceptor>
        {
            [3] = Agents.VotingAcceptor(3, new Promised(new Ballot(3, 5))),
            [4] = Agents.VotingAcceptor(4, new Promised(new Ballot(3, 5))),
            [5] = Agents.VotingAcceptor(5, new Voted(0, new Ballot(3, 5), v)),
            [2] = Empty(2, Five, rebuild: true),
        };
        others[2].Step(Recovered.Instance);
        var rebuilding = Empty(1, Five, rebuild: true);
        var query = rebuilding.Step(Recovered.Instance).Messages.ToDictionary(m => m.To.Node, m => m.Message);

        foreach (int other in new[] { 2, 3, 4 }) // acceptor 5 answers last
            foreach (var reply in others[other].Step(query[other]).Messages)
                rebuilding.Step(reply.Message);

        Assert.True(rebuilding.Mode != AcceptorMode.Voting || v.Equals(rebuilding.EntryAt(0)?.Value),
            $"acceptor 1 votes without the value chosen in slot 0 (rebuilt: {rebuilding.State})");
        foreach (var reply in others[5].Step(query[5]).Messages) rebuilding.Step(reply.Message);
        Assert.Equal(AcceptorMode.Voting, rebuilding.Mode);
        Assert.Equal(v, rebuilding.EntryAt(0)?.Value);
    }
}
