using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.Agents;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Acceptors;

/// <summary>The acceptor of Paxos Made Simple §2.2 (P1a, P2c) and §2.3 (phase 1b / 2b), over every slot at once.</summary>
public sealed class AcceptorTests
{
    private static readonly Ballot B1 = new(1, 1);
    private static readonly Ballot B2 = new(2, 2);
    private static readonly Ballot B3 = new(3, 1);

    [Fact] // §2.3 Phase 1(b)
    public void Acceptor_promises_a_ballot_above_its_promise_and_persists_the_promise_first()
    {
        var acceptor = VotingAcceptor(7);

        var ready = acceptor.Step(new Prepare(B2, 0));

        Assert.Equal([new Promised(B2)], ready.Persist);
        var reply = Assert.Single(ready.Messages);
        Assert.Equal(AgentId.Proposer(2), reply.To);
        var promise = Assert.IsType<Promise>(reply.Message);
        Assert.Equal(B2, promise.Ballot);
        Assert.Equal(7, promise.Acceptor);
        Assert.Empty(promise.Entries);
        Assert.Equal(B2, acceptor.Promised);
    }

    [Fact] // §2.3: "if the acceptor receives a prepare request with number n greater than that of any prepare request to which it has already responded"
    public void Acceptor_nacks_a_prepare_below_its_promise_with_the_ballot_it_promised()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B2, 0));

        var ready = acceptor.Step(new Prepare(B1, 0));

        Assert.Empty(ready.Persist);
        Assert.Equal([new Outgoing(AgentId.Proposer(1), new Nack(B1, 7, B2))], ready.Messages);
        Assert.Equal(B2, acceptor.Promised);
    }

    [Fact]
    public void Acceptor_repromises_the_same_ballot_without_a_new_event()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B2, 0));
        acceptor.Step(new Accept(B2, 0, Cmd(4)));

        var ready = acceptor.Step(new Prepare(B2, 0)); // a duplicated Prepare

        Assert.Empty(ready.Persist);
        var promise = Assert.IsType<Promise>(Assert.Single(ready.Messages).Message);
        Assert.Equal(B2, promise.Ballot);
        Assert.Equal([new AcceptedEntry(0, B2, Cmd(4))], promise.Entries.ToArray());
    }

    [Fact] // §2.2 P1a: an acceptor can accept a proposal numbered n iff it has not responded to a prepare request with a number greater than n
    public void Acceptor_accepts_a_ballot_equal_to_its_promise()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B2, 0));

        var ready = acceptor.Step(new Accept(B2, 3, Cmd(5)));

        Assert.Equal([new Voted(3, B2, Cmd(5))], ready.Persist);
        Assert.Equal([new Outgoing(AgentId.Learner(2), new Accepted(B2, 3, 7))], ready.Messages);
        Assert.Equal(new AcceptedEntry(3, B2, Cmd(5)), acceptor.EntryAt(3));
    }

    [Fact] // §2.2 P1a
    public void Acceptor_accepts_a_ballot_above_its_promise_and_raises_the_promise()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B1, 0));

        var ready = acceptor.Step(new Accept(B3, 0, Cmd(5)));

        Assert.Equal([new Voted(0, B3, Cmd(5))], ready.Persist);
        Assert.Equal(B3, acceptor.Promised);
        Assert.IsType<Nack>(Assert.Single(acceptor.Step(new Prepare(B2, 0)).Messages).Message);
    }

    [Fact] // §2.2 P1a
    public void Acceptor_rejects_accept_below_its_promise()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B2, 0));

        var ready = acceptor.Step(new Accept(B1, 0, Cmd(5)));

        Assert.Empty(ready.Persist);
        Assert.Equal([new Outgoing(AgentId.Proposer(1), new Nack(B1, 7, B2))], ready.Messages);
        Assert.Null(acceptor.EntryAt(0));
    }

    [Fact]
    public void Acceptor_revotes_a_duplicate_accept_without_a_new_event()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Accept(B2, 0, Cmd(5)));

        var ready = acceptor.Step(new Accept(B2, 0, Cmd(5)));

        Assert.Empty(ready.Persist);
        Assert.Equal([new Outgoing(AgentId.Learner(2), new Accepted(B2, 0, 7))], ready.Messages);
    }

    [Fact] // one ballot carries one value per slot: a second value can only come from a reused ballot
    public void Acceptor_does_not_vote_for_a_different_value_at_the_slot_and_ballot_it_holds()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Accept(B2, 0, Cmd(5)));

        var ready = acceptor.Step(new Accept(B2, 0, Cmd(6)));

        Assert.Empty(ready.Persist);
        Assert.Empty(ready.Messages); // no vote: the learner must not count this acceptor for Cmd(6)
        Assert.Equal(new AcceptedEntry(0, B2, Cmd(5)), acceptor.EntryAt(0));
        // The value it does hold still gets its vote, and a content-equal copy counts as the same value.
        Assert.Equal(new Accepted(B2, 0, 7), Assert.Single(acceptor.Step(new Accept(B2, 0, SlotValue.Of(Bytes(5)))).Messages).Message);
    }

    [Fact]
    public void Acceptor_tells_a_round_query_what_it_promised_without_an_event()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Prepare(B2, 0));

        var ready = acceptor.Step(new RoundQuery(3, 42));

        Assert.Empty(ready.Persist);
        Assert.Equal([new Outgoing(AgentId.Proposer(3), new RoundReport(7, B2, 42))], ready.Messages);
    }

    [Fact] // §2.3 Phase 1(b): the promise carries "the proposal with the highest number less than n that it has accepted"
    public void Promise_carries_accepted_entries_from_the_prepares_slot_on_with_the_highest_ballot_per_slot()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Accept(B1, 0, Cmd(10)));
        acceptor.Step(new Accept(B1, 1, Cmd(11)));
        acceptor.Step(new Accept(B2, 1, Cmd(21)));   // slot 1 overwritten at a higher ballot
        acceptor.Step(new Accept(B2, 4, Cmd(14)));

        var promise = Assert.IsType<Promise>(Assert.Single(acceptor.Step(new Prepare(B3, 1)).Messages).Message);

        Assert.Equal([new AcceptedEntry(1, B2, Cmd(21)), new AcceptedEntry(4, B2, Cmd(14))], promise.Entries.ToArray());
    }

    [Fact]
    public void Acceptor_recovered_from_its_events_answers_as_before_the_restart()
    {
        var live = VotingAcceptor(7);
        var journal = new List<IJournalRecord>();
        journal.AddRange(live.Step(new Prepare(B1, 0)).Persist);
        journal.AddRange(live.Step(new Accept(B1, 0, Cmd(1))).Persist);
        journal.AddRange(live.Step(new Prepare(B3, 0)).Persist);

        var recovered = VotingAcceptor(7, [.. journal]);

        Assert.Equal(live.Snapshot(), recovered.Snapshot());
        Assert.Equal(new Nack(B2, 7, B3), Assert.Single(recovered.Step(new Prepare(B2, 0)).Messages).Message);
    }

    [Fact] // the node's learner holds every slot below the point in a durable snapshot
    public void Compaction_forgets_entries_below_the_point_and_promises_report_it()
    {
        var acceptor = VotingAcceptor(7);
        for (int s = 0; s < 5; s++) acceptor.Step(new Accept(B1, s, Cmd(s)));

        var compacted = acceptor.Step(new CompactBelow(3));
        Assert.Equal([new Compacted(3)], compacted.Persist);
        Assert.Empty(compacted.Messages);
        Assert.True(acceptor.Step(new CompactBelow(3)).IsEmpty);   // not above the current point: nothing to do
        Assert.True(acceptor.Step(new CompactBelow(2)).IsEmpty);

        Assert.Equal(2, acceptor.EntryCount);
        var promise = Assert.IsType<Promise>(Assert.Single(acceptor.Step(new Prepare(B2, 0)).Messages).Message);
        Assert.Equal(3, promise.CompactedBelow);
        Assert.Equal([3L, 4L], promise.Entries.Select(e => e.Slot));
    }

    [Fact] // a restarted acceptor must not report the compacted slots as open, nor resurrect their entries
    public void Compaction_is_journaled_so_a_recovered_acceptor_still_reports_it_and_holds_no_entry_below_it()
    {
        var live = VotingAcceptor(7);
        var journal = new List<IJournalRecord>();
        for (int s = 0; s < 5; s++) journal.AddRange(live.Step(new Accept(B1, s, Cmd(s))).Persist);
        journal.AddRange(live.Step(new CompactBelow(3)).Persist);

        var recovered = VotingAcceptor(7, [.. journal]);

        var promise = Assert.IsType<Promise>(Assert.Single(recovered.Step(new Prepare(B2, 1)).Messages).Message);
        Assert.Equal(3, promise.CompactedBelow);
        Assert.Equal([3L, 4L], promise.Entries.Select(e => e.Slot));
        Assert.Null(recovered.EntryAt(1));
    }

    [Fact]
    public void Acceptor_neither_votes_nor_journals_an_accept_for_a_compacted_slot()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new CompactBelow(10));

        var ready = acceptor.Step(new Accept(B1, 4, Cmd(4)));

        Assert.Empty(ready.Persist);
        Assert.Empty(ready.Messages);
        Assert.Null(acceptor.EntryAt(4));
    }

    [Fact]
    public void Snapshot_restores_the_whole_durable_state()
    {
        var acceptor = VotingAcceptor(7);
        acceptor.Step(new Accept(B1, 2, Cmd(2)));
        acceptor.Step(new Prepare(B3, 0));
        acceptor.Step(new CompactBelow(1));

        var restored = VotingAcceptor(7, acceptor.Snapshot());

        Assert.Equal(acceptor.Snapshot(), restored.Snapshot());
        Assert.Equal(B3, restored.Promised);
        Assert.Equal(1, restored.CompactedBelow);
    }

    [Fact] // read index: "have you promised above my ballot?" is answered from the promise, and writes nothing
    public void Acceptor_confirms_a_read_round_at_or_above_its_promise_and_nacks_one_below_writing_nothing()
    {
        var acceptor = VotingAcceptor(2);
        acceptor.Step(new Prepare(new Ballot(3, 1), 0));

        var confirmed = acceptor.Step(new ReadConfirm(new Ballot(3, 1), 5));
        Assert.Empty(confirmed.Persist);
        Assert.Equal(new ReadConfirmed(new Ballot(3, 1), 5, 2), Assert.Single(confirmed.Sent<ReadConfirmed>(Agent.Proposer)));
        Assert.Single(acceptor.Step(new ReadConfirm(new Ballot(4, 3), 1)).Sent<ReadConfirmed>(Agent.Proposer)); // not promised above 4.3

        var refused = acceptor.Step(new ReadConfirm(new Ballot(2, 3), 6));
        Assert.Empty(refused.Persist);
        Assert.Equal(new Nack(new Ballot(2, 3), 2, new Ballot(3, 1)), Assert.Single(refused.Sent<Nack>(Agent.Proposer)));
        Assert.Equal(new Ballot(3, 1), acceptor.Promised);
    }
}
