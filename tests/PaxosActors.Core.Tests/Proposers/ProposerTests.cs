using System.Collections.Immutable;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.Agents;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Proposers;

/// <summary>The proposer of Paxos Made Simple §2.2–2.3 and the Multi-Paxos leader of §3.</summary>
public sealed class ProposerTests
{
    private static readonly ProposerOptions Basic = new() { MultiPaxos = false, BackoffBaseTicks = 4, BackoffJitter = 0 };
    private static readonly ProposerOptions Multi = new() { MultiPaxos = true, ElectionTimeoutTicks = 1, BackoffJitter = 0 };

    /// <summary>A proposer as a shell builds it, not yet stepped: no journal, or the one given.</summary>
    private static Proposer Unstarted(int id, ProposerOptions options, params IJournalRecord[] journal)
    {
        var proposer = new Proposer(id, Three, [1, 2, 3], options, new Random(id));
        foreach (var record in journal) proposer.Recover(record);
        return proposer;
    }

    /// <summary>Ticks a Multi-Paxos proposer until it stands for election, and grants it promises from acceptors 1 and 2
    /// (acceptor 1's reporting <paramref name="entriesAtAcceptor1"/>); returns what the promises made it do.</summary>
    private static Ready Elect(Proposer proposer, params AcceptedEntry[] entriesAtAcceptor1)
    {
        StandForElection(proposer);
        var ready = proposer.StepEach(
            new Promise(proposer.Ballot, 1, 0, [.. entriesAtAcceptor1]),
            new Promise(proposer.Ballot, 2, 0, []));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
        return ready;
    }

    private static void StandForElection(Proposer proposer)
    {
        for (int i = 0; i < 10 && proposer.Phase == ProposerPhase.Idle; i++) proposer.Step(Tick.Instance);
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
    }

    /// <summary>The value of the Accept sent to the acceptors for each slot.</summary>
    private static Dictionary<long, SlotValue> AcceptsBySlot(Ready ready) =>
        ready.Sent<Accept>(Agent.Acceptor).GroupBy(a => a.Slot).ToDictionary(g => g.Key, g => g.First().Value);

    [Fact] // DESIGN §3: a restart must never reuse a ballot, so the round is durable before the Prepare leaves
    public void Proposer_persists_RoundReserved_before_sending_the_prepare()
    {
        var proposer = IdleProposer(1, Basic);

        var ready = proposer.Step(new Propose(Cmd(5), 0));

        var reserved = Assert.IsType<RoundReserved>(Assert.Single(ready.Persist));
        var prepares = ready.Sent<Prepare>(Agent.Acceptor);
        Assert.Equal(3, prepares.Count);
        Assert.All(prepares, p => Assert.Equal(new Ballot(reserved.Round, 1), p.Ballot));
        Assert.Equal(reserved.Round, proposer.MaxRound);
    }

    [Fact] // §2.2 P2c / §2.3 Phase 2(a): v is the value of the highest-numbered proposal among the responses
    public void Proposer_with_a_higher_ballot_proposes_the_value_an_acceptor_already_accepted_seed_002()
    {
        // Acceptor 1 accepted [n=2, v=8]; acceptors 2 and 3 accepted nothing.
        var acceptors = new[] { VotingAcceptor(1), VotingAcceptor(2), VotingAcceptor(3) };
        acceptors[0].Step(new Accept(new Ballot(2, 2), 0, Cmd(8)));
        var proposer = IdleProposer(1, Basic, round: 2); // its next ballot, 3.1, is above 2.2

        var prepares = proposer.Step(new Propose(Cmd(5), 0)).Messages;
        var replies = new List<Ready>();
        foreach (var prepare in prepares.Where(m => m.To.Agent == Agent.Acceptor && m.To.Node != 3)) // acceptor 3 is unreachable
        {
            var promise = Assert.Single(acceptors[prepare.To.Node - 1].Step(prepare.Message).Messages);
            replies.Add(proposer.Step(promise.Message));
        }
        var accepts = ReadyReading.Merge(replies).Sent<Accept>(Agent.Acceptor);

        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
        Assert.NotEmpty(accepts);
        Assert.All(accepts, a => Assert.Equal(new Accept(new Ballot(3, 1), 0, Cmd(8)), a));
        Assert.Equal(1, proposer.PendingCount); // 5 waits for a later slot
    }

    [Fact] // §2.3 Phase 2(a)
    public void Proposer_adopts_the_value_of_the_highest_ballot_entry_among_the_promises()
    {
        var proposer = IdleProposer(1, Multi);
        StandForElection(proposer);

        var ready = proposer.StepEach(
            new Promise(proposer.Ballot, 1, 0, [new AcceptedEntry(0, new Ballot(1, 2), Cmd(7))]),
            new Promise(proposer.Ballot, 2, 0, [new AcceptedEntry(0, new Ballot(1, 3), Cmd(9))]));

        var accepts = ready.Sent<Accept>(Agent.Acceptor);
        Assert.NotEmpty(accepts);
        Assert.All(accepts, a => Assert.Equal(0, a.Slot));
        Assert.All(accepts, a => Assert.Equal(Cmd(9), a.Value));
    }

    [Fact] // Paxos Made Simple §3: a new leader fills gaps with no-ops
    public void New_leader_fills_the_gaps_below_a_reported_slot_with_no_ops()
    {
        var proposer = IdleProposer(1, Multi);

        var bySlot = AcceptsBySlot(Elect(proposer, new AcceptedEntry(2, new Ballot(1, 3), Cmd(7))));

        Assert.Equal(SlotValue.NoOp, bySlot[0]);
        Assert.Equal(SlotValue.NoOp, bySlot[1]);
        Assert.Equal(Cmd(7), bySlot[2]);
        Assert.Equal(3, proposer.NextSlot);
    }

    [Fact] // Paxos Made Simple §3; found by the simulation (PAXOS_SIM_SEEDS=300000, seed 55428): slots 0 and 1 stayed holes forever
    public void New_leader_fills_with_no_ops_the_slots_below_one_it_learned_was_chosen_while_it_was_preparing()
    {
        var proposer = IdleProposer(1, Multi);
        StandForElection(proposer);
        var chosen = proposer.Step(new Chosen(2, Cmd(9))); // another leader's slot 2, from this node's learner
        Assert.Empty(chosen.Sent<Accept>());
        Assert.Equal(0, proposer.FirstUnchosen);

        var ready = proposer.StepEach(new Promise(proposer.Ballot, 1, 0, []), new Promise(proposer.Ballot, 2, 0, []));

        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
        var bySlot = AcceptsBySlot(ready);
        Assert.Equal([0L, 1L], bySlot.Keys.Order());          // slot 2 is chosen: nobody proposes there again
        Assert.All(bySlot.Values, v => Assert.Equal(SlotValue.NoOp, v));
        Assert.Equal(3, proposer.NextSlot);
    }

    [Fact] // Paxos Made Simple §3: a slot below a chosen one that nobody fills leaves a hole no learner can pass
    public void Leader_that_learns_of_a_chosen_slot_past_its_next_slot_proposes_no_ops_in_the_slots_it_skipped()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);
        Assert.Equal(0, proposer.NextSlot);

        var ready = proposer.Step(new Chosen(3, Cmd(9)));

        var bySlot = AcceptsBySlot(ready);
        Assert.Equal([0L, 1L, 2L], bySlot.Keys.Order());
        Assert.All(bySlot.Values, v => Assert.Equal(SlotValue.NoOp, v));
        Assert.All(ready.Sent<Accept>(), a => Assert.Equal(proposer.Ballot, a.Ballot));
        Assert.Equal(4, proposer.NextSlot);
        var next = Assert.Single(proposer.Step(new Propose(Cmd(5), 0)).Sent<Accept>(Agent.Learner));
        Assert.Equal(new Accept(proposer.Ballot, 4, Cmd(5)), next); // past the chosen slot
    }

    [Fact]
    public void Leader_sends_each_accept_to_its_own_learner_too()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);

        var ready = proposer.Step(new Propose(Cmd(5), 0));

        Assert.Equal(new Accept(proposer.Ballot, 0, Cmd(5)), Assert.Single(ready.Sent<Accept>(Agent.Learner)));
        Assert.Equal(AgentId.Learner(1), ready.Messages.Single(m => m.To.Agent == Agent.Learner).To);
    }

    [Fact] // DESIGN §3: a Nack lets a losing proposer back off at once
    public void Nack_makes_the_proposer_step_down_and_retry_with_a_higher_round_after_backoff()
    {
        var proposer = IdleProposer(1, Basic); // backoff base 4, no jitter: waits exactly 4 ticks
        var first = proposer.Step(new Propose(Cmd(5), 0)).Sent<Prepare>(Agent.Acceptor)[0].Ballot;

        proposer.Step(new Nack(first, 2, new Ballot(5, 3)));

        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal(1, proposer.Failures);
        for (int i = 0; i < 3; i++)
            Assert.True(proposer.Step(Tick.Instance).IsEmpty, "no retry before the backoff has passed");
        var retry = proposer.Step(Tick.Instance);
        var prepare = retry.Sent<Prepare>(Agent.Acceptor)[0];
        Assert.Equal(new Ballot(6, 1), prepare.Ballot); // above the round the Nack reported
        Assert.Equal([new RoundReserved(6)], retry.Persist);
    }

    [Fact]
    public void Nack_for_an_older_ballot_is_ignored()
    {
        var proposer = IdleProposer(1, Basic);
        var ballot = proposer.Step(new Propose(Cmd(5), 0)).Sent<Prepare>(Agent.Acceptor)[0].Ballot;

        proposer.Step(new Nack(new Ballot(ballot.Round - 1, 1), 2, new Ballot(9, 3)));

        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.Equal(0, proposer.Failures);
    }

    [Fact] // DESIGN §3: "a restart never reuses a ballot"
    public void Restarted_proposer_given_its_recovered_round_never_reuses_a_ballot()
    {
        var before = IdleProposer(1, Basic);
        var journal = new List<IJournalRecord> { new RoundReserved(0) };
        var used = new HashSet<Ballot>();
        void Carry(Ready ready)
        {
            journal.AddRange(ready.Persist);
            foreach (var prepare in ready.Sent<Prepare>(Agent.Acceptor)) used.Add(prepare.Ballot);
        }
        for (int attempt = 0; attempt < 3; attempt++)
        {
            Carry(before.Step(new Propose(Cmd(attempt), 0)));
            var ballot = before.Ballot;
            Carry(before.Step(new Nack(ballot, 2, new Ballot(ballot.Round, 9))));
            for (int i = 0; i < 100 && before.Phase == ProposerPhase.Idle; i++) Carry(before.Step(Tick.Instance));
        }
        Assert.Equal(4, used.Count); // the first attempt, and a retry after each of three Nacks

        var after = Agents.Started(Unstarted(1, Basic), [.. journal]);
        var next = after.Step(new Propose(Cmd(9), 0)).Sent<Prepare>(Agent.Acceptor)[0].Ballot;

        Assert.Equal(ProposerPhase.Preparing, after.Phase);
        Assert.DoesNotContain(next, used);
        Assert.True(next.Round > journal.OfType<RoundReserved>().Max(e => e.Round));
    }

    [Fact]
    public void Follower_in_Multi_Paxos_forwards_client_commands_to_the_known_leader()
    {
        var proposer = IdleProposer(1, Multi);
        proposer.Step(new Heartbeat(new Ballot(4, 2), 0));

        var ready = proposer.Step(new Propose(Cmd(5), 0));

        Assert.Equal([new Outgoing(AgentId.Proposer(2), new Propose(Cmd(5), 1))], ready.Messages);
        Assert.Equal(0, proposer.PendingCount);
    }

    [Fact]
    public void Forwarding_stops_after_two_hops_and_the_command_waits_locally()
    {
        var proposer = IdleProposer(1, Multi);
        proposer.Step(new Heartbeat(new Ballot(4, 2), 0));

        var ready = proposer.Step(new Propose(Cmd(5), 2));

        Assert.Empty(ready.Messages);
        Assert.Equal(1, proposer.PendingCount);
    }

    [Fact] // one message per burst of client commands instead of one per command
    public void Follower_with_BufferForwards_sends_a_burst_of_commands_to_the_leader_as_one_propose_on_flush()
    {
        var proposer = IdleProposer(1, Multi with { BufferForwards = true });
        proposer.Step(new Heartbeat(new Ballot(4, 2), 0));

        var first = proposer.Step(new Propose(Cmd(1), 0));
        var second = proposer.Step(new Propose(SlotValue.Of(Bytes(2), Bytes(3)), 0));

        Assert.True(first.FlushWhenIdle);
        Assert.Empty(first.Messages);
        Assert.False(second.FlushWhenIdle); // asked once per burst
        Assert.Empty(second.Messages);
        Assert.Equal(0, proposer.PendingCount);

        var flushed = proposer.Step(Flush.Instance);

        var batch = Assert.Single(flushed.Messages);
        Assert.Equal(AgentId.Proposer(2), batch.To);
        var propose = Assert.IsType<Propose>(batch.Message);
        Assert.Equal([1, 2, 3], propose.Commands.Commands.Select(AsInt));
        Assert.Equal(1, propose.Hops);
        Assert.True(proposer.Step(Flush.Instance).IsEmpty); // nothing left to send
        Assert.True(proposer.Step(new Propose(Cmd(4), 0)).FlushWhenIdle); // the next burst asks again
    }

    [Fact] // Multi-Paxos: a window of slots in flight, client commands batched into one slot value
    public void Leader_batches_commands_and_keeps_at_most_a_window_of_slots_in_flight()
    {
        var proposer = IdleProposer(1, Multi with { Window = 2, MaxBatchCommands = 2 });
        foreach (int c in new[] { 1, 2, 3, 4, 5 }) proposer.Step(new Propose(Cmd(c), 0));

        var accepts = Elect(proposer).Sent<Accept>(Agent.Learner);

        Assert.Equal([0L, 1L], accepts.Select(a => a.Slot));
        Assert.Equal([1, 2], accepts[0].Value.Commands.Select(AsInt));
        Assert.Equal([3, 4], accepts[1].Value.Commands.Select(AsInt));
        Assert.Equal(2, proposer.InFlightCount);
        Assert.Equal(1, proposer.PendingCount);

        var next = Assert.Single(proposer.Step(new Chosen(0, accepts[0].Value)).Sent<Accept>(Agent.Learner));
        Assert.Equal(2, next.Slot);
        Assert.Equal([5], next.Value.Commands.Select(AsInt));
    }

    [Fact]
    public void Batch_respects_the_byte_limit_but_an_oversized_command_goes_alone()
    {
        var proposer = IdleProposer(1, Multi with { Window = 8, MaxBatchBytes = 8 });
        proposer.Step(new Propose(new SlotValue([Bytes(1), Bytes(2), Bytes(3), new byte[20], Bytes(4)]), 0));

        var accepts = Elect(proposer).Sent<Accept>(Agent.Learner);

        Assert.Equal([2, 1, 1, 1], accepts.Select(a => a.Value.Commands.Length));
        Assert.Equal(20, accepts[2].Value.ByteSize);
    }

    [Fact]
    public void Command_that_lost_its_slot_to_another_value_is_proposed_again_in_a_later_slot()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);
        Assert.Equal(0, proposer.Step(new Propose(Cmd(5), 0)).Sent<Accept>(Agent.Learner).Single().Slot);

        var ready = proposer.Step(new Chosen(0, Cmd(8))); // another leader's value won slot 0

        var retry = Assert.Single(ready.Sent<Accept>(Agent.Learner));
        Assert.Equal(new Accept(proposer.Ballot, 1, Cmd(5)), retry);
    }

    [Fact]
    public void Leader_in_Multi_Paxos_resends_stalled_accepts_at_the_same_ballot()
    {
        var proposer = IdleProposer(1, Multi with { PhaseTimeoutTicks = 5 });
        Elect(proposer);
        proposer.Step(new Propose(Cmd(5), 0));

        var resent = proposer.Ticks(5).Sent<Accept>(Agent.Acceptor);

        Assert.Equal(3, resent.Count);
        Assert.All(resent, a => Assert.Equal(new Accept(proposer.Ballot, 0, Cmd(5)), a));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
    }

    [Fact]
    public void Leader_steps_down_on_a_heartbeat_from_a_higher_ballot_and_follows_it()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);

        proposer.Step(new Heartbeat(new Ballot(proposer.Ballot.Round + 1, 2), 0));

        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal(2, proposer.Leader);
    }

    [Fact] // Basic Paxos: every value needs both phases
    public void Basic_Paxos_runs_phase_one_again_with_a_higher_ballot_for_the_next_value()
    {
        var proposer = IdleProposer(1, Basic);
        var b1 = proposer.Step(new Propose(Cmd(5), 0)).Sent<Prepare>(Agent.Acceptor)[0].Ballot;
        var accept = proposer.StepEach(
                new Promise(b1, 1, 0, ImmutableArray<AcceptedEntry>.Empty),
                new Promise(b1, 2, 0, ImmutableArray<AcceptedEntry>.Empty))
            .Sent<Accept>(Agent.Learner).Single();
        Assert.Empty(proposer.Step(new Propose(Cmd(6), 0)).Sent<Accept>(Agent.Learner)); // one slot at a time

        var ready = proposer.Step(new Chosen(0, accept.Value));

        var prepare = ready.Sent<Prepare>(Agent.Acceptor)[0];
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.True(prepare.Ballot > b1);
        Assert.Equal(1, prepare.FromSlot);
    }

    [Fact] // the shell replays the journal first: an input before Recovered would act on a round not yet known
    public void Proposer_ignores_every_input_before_it_has_recovered()
    {
        var proposer = Unstarted(1, Multi, new RoundReserved(5));
        IInput[] inputs =
        [
            new Propose(Cmd(5), 0), Tick.Instance, new Promise(new Ballot(6, 1), 1, 0, []), new Nack(new Ballot(6, 1), 2, new Ballot(9, 2)),
            new Chosen(0, Cmd(1)), new Heartbeat(new Ballot(9, 2), 4), new RoundReport(1, new Ballot(9, 2), 0), Flush.Instance,
            new LearnerProgress(7),
        ];

        foreach (var input in inputs.Concat(Enumerable.Repeat<IInput>(Tick.Instance, 50)))
            Assert.True(proposer.Step(input).IsEmpty, $"{input} before Recovered");

        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal(0, proposer.PendingCount);
        Assert.Null(proposer.Leader);
        Assert.Equal(0, proposer.FirstUnchosen);
        Assert.Equal(Ballot.Zero, proposer.Ballot);
        proposer.Step(Recovered.Instance);
        var prepare = proposer.Ticks(10).Sent<Prepare>(Agent.Acceptor)[0];
        Assert.Equal(new Ballot(6, 1), prepare.Ballot);
        Assert.Equal(0, prepare.FromSlot);
    }

    [Fact] // a restarted leader need not run again the part of the log its learner already applied
    public void Proposer_asks_its_learner_for_progress_on_recovery_and_with_a_journal_needs_no_discovery()
    {
        var proposer = Unstarted(1, Basic, new RoundReserved(3));

        var ready = proposer.Step(Recovered.Instance);

        Assert.Equal([new Outgoing(AgentId.Learner(1), ProgressQuery.Instance)], ready.Messages);
        Assert.Empty(ready.Persist);
        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.True(proposer.Step(Recovered.Instance).IsEmpty); // one recovery per incarnation
        Assert.Equal(new Ballot(4, 1), proposer.Step(new Propose(Cmd(5), 0)).Sent<Prepare>(Agent.Acceptor)[0].Ballot);
    }

    [Fact]
    public void Learner_progress_moves_the_first_unchosen_slot_and_drops_what_was_in_flight_below_it()
    {
        var proposer = IdleProposer(1, Multi with { PhaseTimeoutTicks = 5 });
        Elect(proposer);
        proposer.StepEach(new Propose(Cmd(0), 0), new Propose(Cmd(1), 0), new Propose(Cmd(2), 0));
        Assert.Equal(3, proposer.InFlightCount);

        var ready = proposer.Step(new LearnerProgress(2));

        Assert.True(ready.IsEmpty);
        Assert.Equal(2, proposer.FirstUnchosen);
        Assert.Equal(1, proposer.InFlightCount);
        Assert.Equal([2L, 2L, 2L], proposer.Ticks(5).Sent<Accept>(Agent.Acceptor).Select(a => a.Slot)); // only slot 2 is resent
    }

    [Fact] // found by the million-seed sweep: its learner had announced slot 1 past a gap, then restarted without it
    public void Leader_whose_restarted_learner_forgot_a_slot_past_a_gap_prepares_again_from_where_its_learner_stands()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);
        var ballot = proposer.Ballot;
        proposer.Step(new Chosen(1, Cmd(1))); // slot 0 still open: slot 1 is known only as chosen "above"
        Assert.Equal(0, proposer.FirstUnchosen);

        var routine = proposer.Step(new LearnerProgress(0)); // an answer to its own query: nothing was forgotten
        Assert.Empty(routine.Sent<Prepare>(Agent.Acceptor));
        var ready = proposer.Step(new LearnerProgress(0) { Restarted = true });

        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.True(proposer.Ballot > ballot);
        Assert.Equal(Enumerable.Repeat(new Prepare(proposer.Ballot, 0), 3), ready.Sent<Prepare>(Agent.Acceptor));
    }

    [Fact] // found by the simulation with learner crashes: no learner knew slot 0 any more, and the leader never proposed it again
    public void Leader_whose_learner_forgot_chosen_slots_prepares_again_from_where_its_learner_stands()
    {
        var proposer = IdleProposer(1, Multi);
        Elect(proposer);
        var ballot = proposer.Ballot;
        foreach (long slot in new[] { 0L, 1L, 2L }) proposer.Step(new Chosen(slot, Cmd((int)slot)));
        Assert.Equal(3, proposer.FirstUnchosen);

        // Its learner restarted with a journal (a cache) that had not kept slots 0-2 yet.
        var ready = proposer.Step(new LearnerProgress(0));

        Assert.Equal(0, proposer.FirstUnchosen);
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.True(proposer.Ballot > ballot);
        Assert.Equal(Enumerable.Repeat(new Prepare(proposer.Ballot, 0), 3), ready.Sent<Prepare>(Agent.Acceptor));
        Assert.Single(ready.Persist); // the new round is durable before its Prepare leaves
    }

    [Fact]
    public void Proposer_told_by_its_learner_how_far_the_log_is_applied_prepares_from_there()
    {
        var proposer = IdleProposer(1, Multi);

        proposer.Step(new LearnerProgress(10));
        StandForElection(proposer);

        Assert.Equal(10, proposer.FirstUnchosen);
        Assert.Equal(10, proposer.NextSlot);
        var ready = proposer.StepEach(new Promise(proposer.Ballot, 1, 0, []), new Promise(proposer.Ballot, 2, 0, []),
            new Propose(Cmd(5), 0));
        Assert.Equal([new Accept(proposer.Ballot, 10, Cmd(5))], ready.Sent<Accept>(Agent.Learner));
    }

    [Fact]
    public void Preparing_proposer_sends_its_prepare_from_the_first_unchosen_slot()
    {
        var proposer = IdleProposer(1, Multi);
        proposer.Step(new LearnerProgress(4));

        var prepares = proposer.Ticks(10).Sent<Prepare>(Agent.Acceptor);

        Assert.Equal(3, prepares.Count);
        Assert.All(prepares, p => Assert.Equal(4, p.FromSlot));
    }

    /// <summary>A proposer with an empty journal, stepped with Recovered: returns the nonce its queries carry.</summary>
    private static long StartDiscovering(Proposer proposer)
    {
        var queries = proposer.Step(Recovered.Instance).Sent<RoundQuery>(Agent.Acceptor);
        Assert.Equal(3, queries.Count);
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        return queries[0].Nonce;
    }

    [Fact] // a lost journal must not let a proposer reuse a ballot its earlier incarnation used
    public void Proposer_with_an_empty_journal_asks_every_acceptor_and_its_learner_on_recovery_and_journals_the_floor_from_a_majority()
    {
        var proposer = Unstarted(1, Multi);

        var ready = proposer.Step(Recovered.Instance);

        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        Assert.Empty(ready.Persist);
        Assert.Contains(new Outgoing(AgentId.Learner(1), ProgressQuery.Instance), ready.Messages);
        var queries = ready.Messages.Where(m => m.Message is RoundQuery).ToList();
        Assert.Equal([1, 2, 3], queries.Select(q => q.To.Node).Order());
        Assert.All(queries, q => Assert.Equal(Agent.Acceptor, q.To.Agent));
        Assert.All(queries, q => Assert.Equal(new RoundQuery(1, ((RoundQuery)queries[0].Message).Nonce), q.Message));
        long nonce = ((RoundQuery)queries[0].Message).Nonce;

        Assert.True(proposer.Step(new RoundReport(3, new Ballot(6, 2), nonce)).IsEmpty);
        var majority = proposer.Step(new RoundReport(1, new Ballot(2, 3), nonce));

        Assert.Equal([new RoundReserved(6)], majority.Persist);
        Assert.Equal(6, proposer.MaxRound);
        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Empty(proposer.Step(new RoundReport(2, new Ballot(40, 2), nonce)).Persist); // discovery is over
        Assert.Equal(new Ballot(7, 1), proposer.Ticks(10).Sent<Prepare>(Agent.Acceptor)[0].Ballot);
    }

    [Fact] // a lost journal must not let a proposer reuse a ballot its earlier incarnation used
    public void Proposer_with_an_empty_journal_asks_a_majority_of_acceptors_before_its_first_prepare()
    {
        var proposer = Unstarted(1, Basic);
        long nonce = StartDiscovering(proposer);

        var waiting = proposer.StepEach(
            new Propose(Cmd(5), 0),
            new RoundReport(2, new Ballot(7, 1), nonce),
            new RoundReport(2, new Ballot(9, 1), nonce),      // a repeated answer counts once
            new RoundReport(3, new Ballot(12, 1), nonce + 1)); // meant for another incarnation
        Assert.Empty(waiting.Messages);
        Assert.Empty(waiting.Persist);
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);

        var ready = proposer.Step(new RoundReport(3, new Ballot(4, 2), nonce));

        Assert.Equal(new RoundReserved(7), ready.Persist[0]); // the floor, journaled
        var prepares = ready.Sent<Prepare>(Agent.Acceptor);
        Assert.Equal(3, prepares.Count);
        Assert.Equal(new Ballot(8, 1), prepares[0].Ballot);
        Assert.Equal(new RoundReserved(8), ready.Persist[^1]);
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
    }

    [Fact]
    public void Discovering_proposer_sends_no_prepare_on_election_timeout_and_asks_again_those_that_did_not_answer()
    {
        var proposer = Unstarted(1, Multi);
        long nonce = StartDiscovering(proposer);
        proposer.Step(new RoundReport(1, Ballot.Zero, nonce));

        var ready = proposer.Ticks(Multi.PhaseTimeoutTicks);

        Assert.Empty(ready.Sent<Prepare>(Agent.Acceptor));
        Assert.Equal([2, 3], ready.Messages.Where(m => m.Message is RoundQuery).Select(m => m.To.Node).Order().ToArray());
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        var done = proposer.Step(new RoundReport(3, Ballot.Zero, nonce));
        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal([new RoundReserved(0)], done.Persist);
    }

    [Fact]
    public void Discovering_proposer_forwards_commands_to_a_leader_it_hears_of_and_does_not_step_down_from_a_nack()
    {
        var proposer = Unstarted(1, Multi);
        StartDiscovering(proposer);
        proposer.Step(new Propose(Cmd(5), 0));                // no leader known yet: kept
        proposer.Step(new Nack(Ballot.Zero, 2, new Ballot(3, 2)));
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);

        var ready = proposer.Step(new Heartbeat(new Ballot(3, 2), 0));

        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        Assert.Equal(2, proposer.Leader);
        var forwarded = Assert.Single(ready.Sent<Propose>(Agent.Proposer));
        Assert.Equal(Cmd(5), forwarded.Commands);
        Assert.Single(proposer.Step(new Propose(Cmd(6), 0)).Sent<Propose>(Agent.Proposer)); // and from now on straight to it
    }
}
