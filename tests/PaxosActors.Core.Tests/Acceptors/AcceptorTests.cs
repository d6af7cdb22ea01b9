using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
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
        var acceptor = new Acceptor(7);

        var step = acceptor.Handle(new Prepare(B2, 0));

        Assert.Equal(new Promised(B2), step.Event);
        Assert.Equal(Address.Proposer(2), step.Reply!.Value.To);
        var promise = Assert.IsType<Promise>(step.Reply.Value.Message);
        Assert.Equal(B2, promise.Ballot);
        Assert.Equal(7, promise.Acceptor);
        Assert.Empty(promise.Entries);
        Assert.Equal(B2, acceptor.Promised);
    }

    [Fact] // §2.3: "if the acceptor receives a prepare request with number n greater than that of any prepare request to which it has already responded"
    public void Acceptor_nacks_a_prepare_below_its_promise_with_the_ballot_it_promised()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B2, 0));

        var step = acceptor.Handle(new Prepare(B1, 0));

        Assert.Null(step.Event);
        Assert.Equal(Address.Proposer(1), step.Reply!.Value.To);
        Assert.Equal(new Nack(B1, 7, B2), step.Reply.Value.Message);
        Assert.Equal(B2, acceptor.Promised);
    }

    [Fact]
    public void Acceptor_repromises_the_same_ballot_without_a_new_event()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B2, 0));
        acceptor.Handle(new Accept(B2, 0, Cmd(4)));

        var step = acceptor.Handle(new Prepare(B2, 0)); // a duplicated Prepare

        Assert.Null(step.Event);
        var promise = Assert.IsType<Promise>(step.Reply!.Value.Message);
        Assert.Equal(B2, promise.Ballot);
        Assert.Equal([new AcceptedEntry(0, B2, Cmd(4))], promise.Entries.ToArray());
    }

    [Fact] // §2.2 P1a: an acceptor can accept a proposal numbered n iff it has not responded to a prepare request with a number greater than n
    public void Acceptor_accepts_a_ballot_equal_to_its_promise()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B2, 0));

        var step = acceptor.Handle(new Accept(B2, 3, Cmd(5)));

        Assert.Equal(new Voted(3, B2, Cmd(5)), step.Event);
        Assert.Equal(new Envelope(Address.Learner(2), new Accepted(B2, 3, 7)), step.Reply);
        Assert.Equal(new AcceptedEntry(3, B2, Cmd(5)), acceptor.EntryAt(3));
    }

    [Fact] // §2.2 P1a
    public void Acceptor_accepts_a_ballot_above_its_promise_and_raises_the_promise()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B1, 0));

        var step = acceptor.Handle(new Accept(B3, 0, Cmd(5)));

        Assert.Equal(new Voted(0, B3, Cmd(5)), step.Event);
        Assert.Equal(B3, acceptor.Promised);
        Assert.IsType<Nack>(acceptor.Handle(new Prepare(B2, 0)).Reply!.Value.Message);
    }

    [Fact] // §2.2 P1a
    public void Acceptor_rejects_accept_below_its_promise()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B2, 0));

        var step = acceptor.Handle(new Accept(B1, 0, Cmd(5)));

        Assert.Null(step.Event);
        Assert.Equal(new Envelope(Address.Proposer(1), new Nack(B1, 7, B2)), step.Reply);
        Assert.Null(acceptor.EntryAt(0));
    }

    [Fact]
    public void Acceptor_revotes_a_duplicate_accept_without_a_new_event()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Accept(B2, 0, Cmd(5)));

        var step = acceptor.Handle(new Accept(B2, 0, Cmd(5)));

        Assert.Null(step.Event);
        Assert.Equal(new Envelope(Address.Learner(2), new Accepted(B2, 0, 7)), step.Reply);
    }

    [Fact] // one ballot carries one value per slot: a second value can only come from a reused ballot
    public void Acceptor_does_not_vote_for_a_different_value_at_the_slot_and_ballot_it_holds()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Accept(B2, 0, Cmd(5)));

        var step = acceptor.Handle(new Accept(B2, 0, Cmd(6)));

        Assert.Null(step.Event);
        Assert.Null(step.Reply); // no vote: the learner must not count this acceptor for Cmd(6)
        Assert.Equal(new AcceptedEntry(0, B2, Cmd(5)), acceptor.EntryAt(0));
        // The value it does hold still gets its vote, and a content-equal copy counts as the same value.
        Assert.Equal(new Accepted(B2, 0, 7), acceptor.Handle(new Accept(B2, 0, SlotValue.Of(Bytes(5)))).Reply!.Value.Message);
    }

    [Fact]
    public void Acceptor_tells_a_round_query_what_it_promised_without_an_event()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Prepare(B2, 0));

        var step = acceptor.Handle(new RoundQuery(3, 42));

        Assert.Null(step.Event);
        Assert.Equal(new Envelope(Address.Proposer(3), new RoundReport(7, B2, 42)), step.Reply);
    }

    [Fact] // §2.3 Phase 1(b): the promise carries "the proposal with the highest number less than n that it has accepted"
    public void Promise_carries_accepted_entries_from_the_prepares_slot_on_with_the_highest_ballot_per_slot()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Accept(B1, 0, Cmd(10)));
        acceptor.Handle(new Accept(B1, 1, Cmd(11)));
        acceptor.Handle(new Accept(B2, 1, Cmd(21)));   // slot 1 overwritten at a higher ballot
        acceptor.Handle(new Accept(B2, 4, Cmd(14)));

        var promise = Assert.IsType<Promise>(acceptor.Handle(new Prepare(B3, 1)).Reply!.Value.Message);

        Assert.Equal([new AcceptedEntry(1, B2, Cmd(21)), new AcceptedEntry(4, B2, Cmd(14))], promise.Entries.ToArray());
    }

    [Fact]
    public void Acceptor_rebuilt_from_its_events_answers_as_before_the_restart()
    {
        var live = new Acceptor(7);
        var journal = new List<IAcceptorEvent>();
        void Keep(AcceptorStep s) { if (s.Event is { } e) journal.Add(e); }
        Keep(live.Handle(new Prepare(B1, 0)));
        Keep(live.Handle(new Accept(B1, 0, Cmd(1))));
        Keep(live.Handle(new Prepare(B3, 0)));

        var recovered = new Acceptor(7);
        foreach (var e in journal) recovered.Apply(e);

        Assert.Equal(live.Snapshot(), recovered.Snapshot());
        Assert.Equal(new Nack(B2, 7, B3), recovered.Handle(new Prepare(B2, 0)).Reply!.Value.Message);
    }

    [Fact]
    public void Compaction_forgets_entries_below_the_point_and_promises_report_it()
    {
        var acceptor = new Acceptor(7);
        for (int s = 0; s < 5; s++) acceptor.Handle(new Accept(B1, s, Cmd(s)));

        Assert.Equal(new Compacted(3), acceptor.Compact(3));
        Assert.Null(acceptor.Compact(3));   // not above the current point: nothing to do
        Assert.Null(acceptor.Compact(2));

        Assert.Equal(2, acceptor.EntryCount);
        var promise = Assert.IsType<Promise>(acceptor.Handle(new Prepare(B2, 0)).Reply!.Value.Message);
        Assert.Equal(3, promise.CompactedBelow);
        Assert.Equal([3L, 4L], promise.Entries.Select(e => e.Slot));
    }

    [Fact]
    public void Acceptor_neither_votes_nor_journals_an_accept_for_a_compacted_slot()
    {
        var acceptor = new Acceptor(7);
        acceptor.Compact(10);

        var step = acceptor.Handle(new Accept(B1, 4, Cmd(4)));

        Assert.Null(step.Event);
        Assert.Null(step.Reply);
        Assert.Null(acceptor.EntryAt(4));
    }

    [Fact]
    public void Snapshot_restores_the_whole_durable_state()
    {
        var acceptor = new Acceptor(7);
        acceptor.Handle(new Accept(B1, 2, Cmd(2)));
        acceptor.Handle(new Prepare(B3, 0));
        acceptor.Compact(1);

        var restored = new Acceptor(7);
        restored.Restore(acceptor.Snapshot());

        Assert.Equal(acceptor.Snapshot(), restored.Snapshot());
        Assert.Equal(B3, restored.Promised);
        Assert.Equal(1, restored.CompactedBelow);
    }
}
