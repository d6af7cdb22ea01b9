using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.Agents;

namespace PaxosActors.Core.Tests.Protocol;

/// <summary>"Persist before send" (etcd/raft's Ready: "HardState and Entries to be saved BEFORE Messages are sent"):
/// a reply may reveal a promise or a vote (Paxos Made Simple §2.3, P1a and the acceptor's "remember"), so it leaves
/// only once every event up to the step that made it is durable.</summary>
public sealed class OutboxTests
{
    private static readonly Outgoing M1 = new(AgentId.Proposer(1), new Promise(new Ballot(1, 1), 7, 0, []));
    private static readonly Outgoing M2 = new(AgentId.Learner(1), new Accepted(new Ballot(1, 1), 0, 7));
    private static readonly Outgoing M3 = new(AgentId.Proposer(2), new Nack(new Ballot(1, 2), 7, new Ballot(1, 1)));

    private static Ready StepOf(int events, params Outgoing[] messages) => new()
    {
        Persist = Enumerable.Range(0, events).Select(i => (IJournalRecord)new Promised(new Ballot(i + 1, 1))).ToList(),
        Messages = messages,
    };

    [Fact]
    public void Messages_of_a_step_without_events_leave_at_once_when_nothing_is_pending()
    {
        var outbox = new Outbox();

        Assert.Equal([M1, M2], outbox.Admit(StepOf(0, M1, M2)));
        Assert.Equal(0, outbox.Held);
        Assert.Equal(0, outbox.Pending);
    }

    [Fact] // §2.3 Phase 1(b): the promise is remembered before the Promise is sent
    public void Messages_of_a_step_with_events_wait_until_all_those_events_are_durable()
    {
        var outbox = new Outbox();

        Assert.Empty(outbox.Admit(StepOf(2, M1, M2)));
        Assert.Equal(2, outbox.Pending);
        Assert.Equal(2, outbox.Held);

        Assert.Empty(outbox.Durable(1));   // one of its two events is not durable yet
        Assert.Equal([M1, M2], outbox.Durable(1));
        Assert.Equal(0, outbox.Pending);
        Assert.Equal(0, outbox.Held);
        Assert.Equal([M3], outbox.Admit(StepOf(0, M3))); // nothing pending any more: straight out
    }

    [Fact] // a later reply may reveal an earlier event (a RoundReport the promise still being written), and order is kept
    public void Later_messages_without_events_still_wait_behind_earlier_pending_events_and_keep_their_order()
    {
        var outbox = new Outbox();
        Assert.Empty(outbox.Admit(StepOf(1, M1)));

        Assert.Empty(outbox.Admit(StepOf(0, M2)));

        Assert.Equal(2, outbox.Held);
        Assert.Equal([M1, M2], outbox.Durable(1));
    }

    [Fact]
    public void Each_step_waits_only_for_the_events_up_to_its_own()
    {
        var outbox = new Outbox();
        Assert.Empty(outbox.Admit(StepOf(1, M1)));
        Assert.Empty(outbox.Admit(StepOf(2, M2)));
        Assert.Empty(outbox.Admit(StepOf(0, M3)));

        Assert.Equal([M1], outbox.Durable(1));
        Assert.Empty(outbox.Durable(1));
        Assert.Equal([M2, M3], outbox.Durable(1));
        Assert.Empty(outbox.Durable(0));
    }

    [Fact] // Invariant: durable <= written
    public void Durable_beyond_what_was_written_throws()
    {
        var outbox = new Outbox();
        Assert.Throws<InvalidOperationException>(() => outbox.Durable(1));

        outbox.Admit(StepOf(2, M1));
        Assert.Throws<InvalidOperationException>(() => outbox.Durable(3));
        Assert.Throws<InvalidOperationException>(() => outbox.Durable(-1));
        Assert.Equal(2, outbox.Pending); // a refused confirmation changes nothing
        Assert.Equal(1, outbox.Held);
        Assert.Equal([M1], outbox.Durable(2));
        Assert.Throws<InvalidOperationException>(() => outbox.Durable(1));
    }

    [Fact] // §2.3 Phase 1(b) through the real acceptor: its Promise waits for its Promised event
    public void Acceptors_promise_leaves_only_once_the_promise_is_durable()
    {
        var acceptor = VotingAcceptor(7);
        var outbox = new Outbox();

        var promise = acceptor.Step(new Prepare(new Ballot(2, 1), 0));
        Assert.Empty(outbox.Admit(promise));
        var roundQuery = acceptor.Step(new RoundQuery(3, 1)); // no event of its own, but it reveals the promise
        Assert.Empty(outbox.Admit(roundQuery));

        var sent = outbox.Durable(promise.Persist.Count);

        Assert.Equal([.. promise.Messages, .. roundQuery.Messages], sent);
        Assert.IsType<Promise>(sent[0].Message);
        Assert.Equal(new RoundReport(7, new Ballot(2, 1), 1), sent[1].Message);
    }
}
