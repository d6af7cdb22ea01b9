using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.Agents;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Proposers;

/// <summary>Linearizable reads without the log (read index): a leader confirms its ballot with a majority after the reads
/// were issued, and hands a read out only once its learner applied the read point.</summary>
public sealed class ReadIndexTests
{
    private static readonly ProposerOptions Multi = new() { MultiPaxos = true, ElectionTimeoutTicks = 1, BackoffJitter = 0, PhaseTimeoutTicks = 5 };

    /// <summary>Elects <paramref name="proposer"/> with the promises of <paramref name="voters"/>, delivering its Prepare to
    /// those acceptors only.</summary>
    private static void Elect(Proposer proposer, Acceptor[] acceptors, params int[] voters)
    {
        for (int i = 0; i < 10 && proposer.Phase == ProposerPhase.Idle; i++) proposer.Step(Tick.Instance);
        var prepare = new Prepare(proposer.Ballot, 0);
        foreach (int a in voters) Deliver(acceptors[a - 1].Step(prepare), proposer);
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
    }

    /// <summary>Steps <paramref name="proposer"/> with every message the acceptor's Ready sends it; returns those Readies.</summary>
    private static Ready Deliver(Ready fromAcceptor, Proposer proposer) =>
        ReadyReading.Merge(fromAcceptor.Messages.Where(m => m.To == proposer.Id).Select(m => proposer.Step(m.Message)).ToList());

    /// <summary>Sends the ReadConfirms of <paramref name="ready"/> to the acceptors in <paramref name="reachable"/> only, and
    /// their answers back; returns what the leader did with them.</summary>
    private static Ready ConfirmWith(Ready ready, Proposer leader, Acceptor[] acceptors, params int[] reachable) =>
        ReadyReading.Merge(ready.Messages
            .Where(m => m.Message is ReadConfirm && m.To.Agent == Agent.Acceptor && reachable.Contains(m.To.Node))
            .Select(m => Deliver(acceptors[m.To.Node - 1].Step(m.Message), leader)).ToList());

    private static Acceptor[] ThreeAcceptors() => [VotingAcceptor(1), VotingAcceptor(2), VotingAcceptor(3)];

    [Fact] // the read-index safety argument: a deposed leader cut off from the majority that promised a newer ballot
    public void A_deposed_leader_cut_off_with_one_acceptor_does_not_answer_a_read_and_without_the_round_it_would_answer_stale()
    {
        foreach (bool skipRound in new[] { false, true })
        {
            var acceptors = ThreeAcceptors();
            var old = IdleProposer(1, Multi with { UnsafeReadsWithoutConfirmation = skipRound });
            Elect(old, acceptors, 1, 2); // ballot 1.1
            // The network splits {1} | {2, 3}: proposer 2 is elected by acceptors 2 and 3 and has 9 chosen in slot 0.
            var fresh = IdleProposer(2, Multi, round: 1);
            Elect(fresh, acceptors, 2, 3); // ballot 2.2
            var accept = new Accept(fresh.Ballot, 0, Cmd(9));
            Assert.Single(acceptors[1].Step(accept).Sent<Accepted>());
            Assert.Single(acceptors[2].Step(accept).Sent<Accepted>()); // chosen: a majority accepted it at 2.2

            // A client now reads at the old leader, which still believes it leads and has applied nothing (slot 0 unknown).
            var ready = old.Step(new ReadIndex(7));
            if (skipRound)
            {
                // The broken variant answers at once with read point 0: the state before slot 0, which is chosen. Stale.
                Assert.Equal(new ReadState(7, 0), Assert.Single(ready.Reads));
                continue;
            }
            Assert.Empty(ready.Reads);
            Assert.Equal(3, ready.Sent<ReadConfirm>(Agent.Acceptor).Count);
            // Only acceptor 1 is on its side: one confirmation is no majority, however long it waits and asks again.
            var answered = ConfirmWith(ready, old, acceptors, 1);
            for (int i = 0; i < 20; i++) answered = ReadyReading.Merge([answered, ConfirmWith(old.Step(Tick.Instance), old, acceptors, 1)]);
            Assert.Empty(answered.Reads);
            Assert.Equal(1, old.PendingReads);

            // The split heals: acceptor 2 answers with a Nack (it promised 2.2), and the old leader steps down and asks the
            // new one for the read point instead of answering itself.
            var healed = ConfirmWith(old.Ticks(Multi.PhaseTimeoutTicks), old, acceptors, 2); // asked again, heard this time
            Assert.Empty(healed.Reads);
            Assert.Equal(ProposerPhase.Idle, old.Phase);
            Assert.Equal(2, old.Leader);
            Assert.Equal(new ReadIndexRequest(1, 7), Assert.Single(healed.Sent<ReadIndexRequest>(Agent.Proposer)));
        }
    }

    [Fact]
    public void Reads_issued_while_a_round_is_in_flight_wait_for_the_next_round_and_all_share_it()
    {
        var acceptors = ThreeAcceptors();
        var leader = IdleProposer(1, Multi);
        Elect(leader, acceptors, 1, 2);

        var first = leader.Step(new ReadIndex(1));
        var round = first.Sent<ReadConfirm>(Agent.Acceptor);
        Assert.Equal(3, round.Count);

        // Issued after the round left: its answers may predate these reads, so they wait, and one round serves them all.
        var during = leader.StepEach(new ReadIndex(2), new ReadIndex(3), new ReadIndex(4));
        Assert.Empty(during.Messages);

        var confirmed = ConfirmWith(first, leader, acceptors, 1, 2);
        Assert.Equal(1, Assert.Single(confirmed.Reads).Id);
        var second = confirmed.Sent<ReadConfirm>(Agent.Acceptor);
        Assert.Equal(3, second.Count); // one message per acceptor for the three reads
        Assert.Single(second.Distinct());
        Assert.NotEqual(round[0].Round, second[0].Round);
        Assert.Equal([2L, 3L, 4L], ConfirmWith(confirmed, leader, acceptors, 2, 3).Reads.Select(r => r.Id).Order());
    }

    [Fact]
    public void A_leader_hands_a_read_out_only_once_its_learner_applied_every_slot_it_had_proposed()
    {
        var acceptors = ThreeAcceptors();
        var leader = IdleProposer(1, Multi);
        Elect(leader, acceptors, 1, 2);
        leader.Step(new Propose(Cmd(5), 0)); // slot 0 in flight: possibly chosen already, so a read must see it

        var confirmed = ConfirmWith(leader.Step(new ReadIndex(1)), leader, acceptors, 1, 2);
        Assert.Empty(confirmed.Reads);

        var applied = leader.Step(new LearnerProgress(1));
        Assert.Equal(new ReadState(1, 1), Assert.Single(applied.Reads));
    }

    [Fact]
    public void A_follower_asks_the_leader_for_the_read_point_and_serves_once_its_own_learner_applied_it()
    {
        var follower = IdleProposer(2, Multi with { ElectionTimeoutTicks = 100 });
        follower.Step(new Heartbeat(new Ballot(3, 1), 0));

        var asked = follower.Step(new ReadIndex(9));
        Assert.Equal(new ReadIndexRequest(2, 9), Assert.Single(asked.Sent<ReadIndexRequest>(Agent.Proposer)));
        Assert.Empty(follower.Step(new ReadIndexReply(9, 4, new Ballot(3, 1))).Reads);
        Assert.Empty(follower.Step(new LearnerProgress(3)).Reads);
        Assert.Equal(new ReadState(9, 4), Assert.Single(follower.Step(new LearnerProgress(4)).Reads));
    }

    [Fact]
    public void A_leader_answers_a_followers_read_with_its_point_after_a_round()
    {
        var acceptors = ThreeAcceptors();
        var leader = IdleProposer(1, Multi);
        Elect(leader, acceptors, 1, 2);

        var ready = leader.Step(new ReadIndexRequest(3, 11));
        var confirmed = ConfirmWith(ready, leader, acceptors, 2, 3);
        Assert.Empty(confirmed.Reads); // not this node's read
        var reply = Assert.Single(confirmed.Sent<ReadIndexReply>(Agent.Proposer));
        Assert.Equal((11L, 0L, leader.Ballot), (reply.Id, reply.Point, reply.Ballot));
    }

    /// <summary>A proposer on a node outside the membership (a spare, or an acceptor removed from the set): it hears no
    /// heartbeats, so it knows no leader and asks a member.</summary>
    private static Proposer Outsider(int id, Membership membership, ProposerOptions options) =>
        Started(new Proposer(id, membership, membership.Members, options, new Random(id)), [new RoundReserved(0)]);

    [Fact] // seen in CI: after [1,2,3] -> [1,3], every read through node 4 (removed earlier) failed for 100 s
    public void A_node_outside_the_membership_reads_through_a_member_that_passes_the_request_to_the_leader()
    {
        var acceptors = ThreeAcceptors();
        var leader = IdleProposer(2, Multi);
        Elect(leader, acceptors, 2, 3);
        leader.Step(new Propose(Cmd(5), 0)); // slot 0 in flight: the read must wait until node 4 applied it
        var follower = IdleProposer(1, Multi with { ElectionTimeoutTicks = 100 });
        follower.Step(new Heartbeat(leader.Ballot, 0));
        var outsider = Outsider(4, new Membership([1, 2, 3]), Multi);

        var asked = outsider.Step(new ReadIndex(5));
        var request = Assert.Single(asked.Messages);
        Assert.Equal(new ReadIndexRequest(4, 5, Hops: 1), request.Message);
        Assert.Equal(AgentId.Proposer(1), request.To); // the first member: a follower, which cannot answer itself

        // The follower passes it on to the leader it knows; the leader confirms its ballot and answers node 4 directly.
        var passed = follower.Step(request.Message);
        Assert.Equal(new ReadIndexRequest(4, 5, Hops: 2), Assert.Single(passed.Sent<ReadIndexRequest>(Agent.Proposer)));
        Assert.Equal(AgentId.Proposer(2), Assert.Single(passed.Messages).To);
        var confirmed = ConfirmWith(leader.Step(Assert.Single(passed.Messages).Message), leader, acceptors, 1, 3);
        Assert.DoesNotContain(confirmed.Messages, m => m.Message is ReadIndexReply); // the leader's learner applies slot 0 first
        var reply = Assert.Single(leader.Step(new LearnerProgress(1)).Messages, m => m.Message is ReadIndexReply);
        Assert.Equal(AgentId.Proposer(4), reply.To);
        Assert.Equal(1, ((ReadIndexReply)reply.Message).Point);
        Assert.Empty(outsider.Step(reply.Message).Reads);
        Assert.Equal(new ReadState(5, 1), Assert.Single(outsider.Step(new LearnerProgress(1)).Reads));

        // The bound: a request passed on once already is not passed on again (two proposers that each think the other
        // leads would pass it back and forth); the asker tries again after a timeout.
        Assert.Empty(follower.Step(new ReadIndexRequest(4, 6, Hops: 2)).Messages);
    }

    [Fact]
    public void A_node_outside_the_membership_asks_the_next_member_each_time_its_request_goes_unanswered()
    {
        // Two members and a timeout of an even number of ticks: choosing the member by the clock asked the same one for ever.
        var options = Multi with { PhaseTimeoutTicks = 4 };
        var outsider = Outsider(4, new Membership([1, 3]), options);

        var asked = new List<AgentId> { Assert.Single(outsider.Step(new ReadIndex(8)).Messages).To };
        for (int retry = 0; retry < 3; retry++)
            asked.Add(Assert.Single(outsider.Ticks(options.PhaseTimeoutTicks).Messages, m => m.Message is ReadIndexRequest).To);
        Assert.Equal([AgentId.Proposer(1), AgentId.Proposer(3), AgentId.Proposer(1), AgentId.Proposer(3)], asked);
    }

    [Fact] // found by the 1M sweep: a removed node kept the leader it knew as a member, itself removed since, for ever
    public void A_node_outside_the_membership_does_not_trust_a_leader_outside_it_and_forgets_one_that_does_not_answer()
    {
        var outsider = Outsider(4, new Membership([1, 2, 3]), Multi);
        outsider.Step(new Heartbeat(new Ballot(6, 5), 0)); // heard while both were members; node 5 is outside now too
        Assert.Equal(5, outsider.Leader);
        Assert.Equal(AgentId.Proposer(1), Assert.Single(outsider.Step(new ReadIndex(1)).Messages).To); // a member instead

        var other = Outsider(4, new Membership([1, 2, 3]), Multi);
        other.Step(new Heartbeat(new Ballot(6, 2), 0)); // a member: asked first
        Assert.Equal(AgentId.Proposer(2), Assert.Single(other.Step(new ReadIndex(1)).Messages).To);
        // No answer within a phase timeout (2 no longer leads, say, and it is down): the hint goes, the members are asked in turn.
        var retry = other.Ticks(Multi.PhaseTimeoutTicks);
        Assert.Null(other.Leader);
        Assert.Equal(AgentId.Proposer(1), Assert.Single(retry.Messages, m => m.Message is ReadIndexRequest).To);
    }
}
