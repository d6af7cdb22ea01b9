using System.Collections.Immutable;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Proposers;

/// <summary>The proposer of Paxos Made Simple §2.2–2.3 and the Multi-Paxos leader of §3.</summary>
public sealed class ProposerTests
{
    private static readonly ProposerOptions Basic = new() { MultiPaxos = false, BackoffBaseTicks = 4, BackoffJitter = 0 };
    private static readonly ProposerOptions Multi = new() { MultiPaxos = true, ElectionTimeoutTicks = 1, BackoffJitter = 0 };

    private static Proposer NewProposer(int id, ProposerOptions options) =>
        new(id, Three, [1, 2, 3], options, new Random(id));

    private static List<T> Sent<T>(ProposerReady ready, Role to) =>
        ready.Messages.Where(m => m.To.Role == to).Select(m => m.Message).OfType<T>().ToList();

    /// <summary>Ticks a Multi-Paxos proposer until it stands for election, and grants it promises from acceptors 1 and 2.</summary>
    private static ProposerReady Elect(Proposer proposer, params AcceptedEntry[] entriesAtAcceptor1)
    {
        for (int i = 0; i < 10 && proposer.Phase == ProposerPhase.Idle; i++) proposer.Tick();
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        proposer.TakeReady();
        proposer.Handle(new Promise(proposer.Ballot, 1, 0, [.. entriesAtAcceptor1]));
        proposer.Handle(new Promise(proposer.Ballot, 2, 0, []));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
        return proposer.TakeReady();
    }

    [Fact] // DESIGN §3: a restart must never reuse a ballot, so the round is durable before the Prepare leaves
    public void Proposer_persists_RoundReserved_before_sending_the_prepare()
    {
        var proposer = NewProposer(1, Basic);

        proposer.Handle(new Propose(Cmd(5), 0));
        var ready = proposer.TakeReady();

        var reserved = Assert.Single(ready.Events);
        var prepares = Sent<Prepare>(ready, Role.Acceptor);
        Assert.Equal(3, prepares.Count);
        Assert.All(prepares, p => Assert.Equal(new Ballot(reserved.Round, 1), p.Ballot));
        Assert.Equal(reserved.Round, proposer.MaxRound);
    }

    [Fact] // §2.2 P2c / §2.3 Phase 2(a): v is the value of the highest-numbered proposal among the responses
    public void Proposer_with_a_higher_ballot_proposes_the_value_an_acceptor_already_accepted_seed_002()
    {
        // Acceptor 1 accepted [n=2, v=8]; acceptors 2 and 3 accepted nothing.
        var acceptors = new[] { new Acceptor(1), new Acceptor(2), new Acceptor(3) };
        acceptors[0].Handle(new Accept(new Ballot(2, 2), 0, Cmd(8)));
        var proposer = NewProposer(1, Basic);
        proposer.Apply(new RoundReserved(2)); // its next ballot, 3.1, is above 2.2

        proposer.Handle(new Propose(Cmd(5), 0));
        var prepares = proposer.TakeReady().Messages;
        foreach (var env in prepares.Where(e => e.To.Node != 3)) // acceptor 3 is unreachable
        {
            var step = acceptors[env.To.Node - 1].Handle((Prepare)env.Message);
            proposer.Handle((Promise)step.Reply!.Value.Message);
        }
        var accepts = Sent<Accept>(proposer.TakeReady(), Role.Acceptor);

        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
        Assert.NotEmpty(accepts);
        Assert.All(accepts, a => Assert.Equal(new Accept(new Ballot(3, 1), 0, Cmd(8)), a));
        Assert.Equal(1, proposer.PendingCount); // 5 waits for a later slot
    }

    [Fact] // §2.3 Phase 2(a)
    public void Proposer_adopts_the_value_of_the_highest_ballot_entry_among_the_promises()
    {
        var proposer = NewProposer(1, Multi);
        for (int i = 0; i < 10 && proposer.Phase == ProposerPhase.Idle; i++) proposer.Tick();
        proposer.TakeReady();

        proposer.Handle(new Promise(proposer.Ballot, 1, 0, [new AcceptedEntry(0, new Ballot(1, 2), Cmd(7))]));
        proposer.Handle(new Promise(proposer.Ballot, 2, 0, [new AcceptedEntry(0, new Ballot(1, 3), Cmd(9))]));

        var accepts = Sent<Accept>(proposer.TakeReady(), Role.Acceptor);
        Assert.All(accepts, a => Assert.Equal(0, a.Slot));
        Assert.All(accepts, a => Assert.Equal(Cmd(9), a.Value));
    }

    [Fact] // Paxos Made Simple §3: a new leader fills gaps with no-ops
    public void New_leader_fills_the_gaps_below_a_reported_slot_with_no_ops()
    {
        var proposer = NewProposer(1, Multi);

        var ready = Elect(proposer, new AcceptedEntry(2, new Ballot(1, 3), Cmd(7)));

        var bySlot = Sent<Accept>(ready, Role.Acceptor).GroupBy(a => a.Slot).ToDictionary(g => g.Key, g => g.First().Value);
        Assert.Equal(SlotValue.NoOp, bySlot[0]);
        Assert.Equal(SlotValue.NoOp, bySlot[1]);
        Assert.Equal(Cmd(7), bySlot[2]);
        Assert.Equal(3, proposer.NextSlot);
    }

    [Fact]
    public void Leader_sends_each_accept_to_its_own_learner_too()
    {
        var proposer = NewProposer(1, Multi);
        Elect(proposer);

        proposer.Handle(new Propose(Cmd(5), 0));
        var ready = proposer.TakeReady();

        Assert.Equal(new Accept(proposer.Ballot, 0, Cmd(5)), Assert.Single(Sent<Accept>(ready, Role.Learner)));
        Assert.Equal(Address.Learner(1), ready.Messages.Single(m => m.To.Role == Role.Learner).To);
    }

    [Fact] // DESIGN §3: a Nack lets a losing proposer back off at once
    public void Nack_makes_the_proposer_step_down_and_retry_with_a_higher_round_after_backoff()
    {
        var proposer = NewProposer(1, Basic); // backoff base 4, no jitter: waits exactly 4 ticks
        proposer.Handle(new Propose(Cmd(5), 0));
        var first = Sent<Prepare>(proposer.TakeReady(), Role.Acceptor)[0].Ballot;

        proposer.Handle(new Nack(first, 2, new Ballot(5, 3)));

        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal(1, proposer.Failures);
        for (int i = 0; i < 3; i++)
        {
            proposer.Tick();
            Assert.True(proposer.TakeReady().IsEmpty, "no retry before the backoff has passed");
        }
        proposer.Tick();
        var retry = proposer.TakeReady();
        var prepare = Sent<Prepare>(retry, Role.Acceptor)[0];
        Assert.Equal(new Ballot(6, 1), prepare.Ballot); // above the round the Nack reported
        Assert.Equal(6, Assert.Single(retry.Events).Round);
    }

    [Fact]
    public void Nack_for_an_older_ballot_is_ignored()
    {
        var proposer = NewProposer(1, Basic);
        proposer.Handle(new Propose(Cmd(5), 0));
        var ballot = Sent<Prepare>(proposer.TakeReady(), Role.Acceptor)[0].Ballot;

        proposer.Handle(new Nack(new Ballot(ballot.Round - 1, 1), 2, new Ballot(9, 3)));

        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.Equal(0, proposer.Failures);
    }

    [Fact] // DESIGN §3: "a restart never reuses a ballot"
    public void Restarted_proposer_given_its_recovered_round_never_reuses_a_ballot()
    {
        var before = NewProposer(1, Basic);
        var journal = new List<RoundReserved>();
        var used = new HashSet<Ballot>();
        for (int attempt = 0; attempt < 3; attempt++)
        {
            before.Handle(new Propose(Cmd(attempt), 0));
            var ready = before.TakeReady();
            journal.AddRange(ready.Events);
            var ballot = Sent<Prepare>(ready, Role.Acceptor)[0].Ballot;
            used.Add(ballot);
            before.Handle(new Nack(ballot, 2, new Ballot(ballot.Round, 9)));
            for (int i = 0; i < 100 && before.Phase == ProposerPhase.Idle; i++) before.Tick();
        }
        journal.AddRange(before.TakeReady().Events);

        var after = NewProposer(1, Basic);
        foreach (var e in journal) after.Apply(e);
        after.Handle(new Propose(Cmd(9), 0));
        var next = Sent<Prepare>(after.TakeReady(), Role.Acceptor)[0].Ballot;

        Assert.DoesNotContain(next, used);
        Assert.True(next.Round > journal.Max(e => e.Round));
    }

    [Fact]
    public void Follower_in_Multi_Paxos_forwards_client_commands_to_the_known_leader()
    {
        var proposer = NewProposer(1, Multi);
        proposer.Handle(new Heartbeat(new Ballot(4, 2), 0));
        proposer.TakeReady();

        proposer.Handle(new Propose(Cmd(5), 0));

        Assert.Equal(new Envelope(Address.Proposer(2), new Propose(Cmd(5), 1)), Assert.Single(proposer.TakeReady().Messages));
        Assert.Equal(0, proposer.PendingCount);
    }

    [Fact]
    public void Forwarding_stops_after_two_hops_and_the_command_waits_locally()
    {
        var proposer = NewProposer(1, Multi);
        proposer.Handle(new Heartbeat(new Ballot(4, 2), 0));
        proposer.TakeReady();

        proposer.Handle(new Propose(Cmd(5), 2));

        Assert.Empty(proposer.TakeReady().Messages);
        Assert.Equal(1, proposer.PendingCount);
    }

    [Fact] // Multi-Paxos: a window of slots in flight, client commands batched into one slot value
    public void Leader_batches_commands_and_keeps_at_most_a_window_of_slots_in_flight()
    {
        var proposer = new Proposer(1, Three, [1, 2, 3], Multi with { Window = 2, MaxBatchCommands = 2 }, new Random(1));
        foreach (int c in new[] { 1, 2, 3, 4, 5 }) proposer.Handle(new Propose(Cmd(c), 0));

        var accepts = Sent<Accept>(Elect(proposer), Role.Learner);

        Assert.Equal([0L, 1L], accepts.Select(a => a.Slot));
        Assert.Equal([1, 2], accepts[0].Value.Commands.Select(AsInt));
        Assert.Equal([3, 4], accepts[1].Value.Commands.Select(AsInt));
        Assert.Equal(2, proposer.InFlightCount);
        Assert.Equal(1, proposer.PendingCount);

        proposer.Handle(new Chosen(0, accepts[0].Value));
        var next = Assert.Single(Sent<Accept>(proposer.TakeReady(), Role.Learner));
        Assert.Equal(2, next.Slot);
        Assert.Equal([5], next.Value.Commands.Select(AsInt));
    }

    [Fact]
    public void Batch_respects_the_byte_limit_but_an_oversized_command_goes_alone()
    {
        var proposer = new Proposer(1, Three, [1, 2, 3], Multi with { Window = 8, MaxBatchBytes = 8 }, new Random(1));
        proposer.Handle(new Propose(new SlotValue([Bytes(1), Bytes(2), Bytes(3), new byte[20], Bytes(4)]), 0));

        var accepts = Sent<Accept>(Elect(proposer), Role.Learner);

        Assert.Equal([2, 1, 1, 1], accepts.Select(a => a.Value.Commands.Length));
        Assert.Equal(20, accepts[2].Value.ByteSize);
    }

    [Fact]
    public void Command_that_lost_its_slot_to_another_value_is_proposed_again_in_a_later_slot()
    {
        var proposer = NewProposer(1, Multi);
        Elect(proposer);
        proposer.Handle(new Propose(Cmd(5), 0));
        Assert.Equal(0, Sent<Accept>(proposer.TakeReady(), Role.Learner).Single().Slot);

        proposer.Handle(new Chosen(0, Cmd(8))); // another leader's value won slot 0

        var retry = Assert.Single(Sent<Accept>(proposer.TakeReady(), Role.Learner));
        Assert.Equal(new Accept(proposer.Ballot, 1, Cmd(5)), retry);
    }

    [Fact]
    public void Leader_in_Multi_Paxos_resends_stalled_accepts_at_the_same_ballot()
    {
        var proposer = new Proposer(1, Three, [1, 2, 3], Multi with { PhaseTimeoutTicks = 5 }, new Random(1));
        Elect(proposer);
        proposer.Handle(new Propose(Cmd(5), 0));
        proposer.TakeReady();

        for (int i = 0; i < 5; i++) proposer.Tick();

        var resent = Sent<Accept>(proposer.TakeReady(), Role.Acceptor);
        Assert.Equal(3, resent.Count);
        Assert.All(resent, a => Assert.Equal(new Accept(proposer.Ballot, 0, Cmd(5)), a));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
    }

    [Fact]
    public void Leader_steps_down_on_a_heartbeat_from_a_higher_ballot_and_follows_it()
    {
        var proposer = NewProposer(1, Multi);
        Elect(proposer);

        proposer.Handle(new Heartbeat(new Ballot(proposer.Ballot.Round + 1, 2), 0));

        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal(2, proposer.Leader);
    }

    [Fact] // Basic Paxos: every value needs both phases
    public void Basic_Paxos_runs_phase_one_again_with_a_higher_ballot_for_the_next_value()
    {
        var proposer = NewProposer(1, Basic);
        proposer.Handle(new Propose(Cmd(5), 0));
        var b1 = Sent<Prepare>(proposer.TakeReady(), Role.Acceptor)[0].Ballot;
        proposer.Handle(new Promise(b1, 1, 0, ImmutableArray<AcceptedEntry>.Empty));
        proposer.Handle(new Promise(b1, 2, 0, ImmutableArray<AcceptedEntry>.Empty));
        var accept = Sent<Accept>(proposer.TakeReady(), Role.Learner).Single();
        proposer.Handle(new Propose(Cmd(6), 0));
        Assert.Empty(Sent<Accept>(proposer.TakeReady(), Role.Learner)); // one slot at a time

        proposer.Handle(new Chosen(0, accept.Value));

        var prepare = Sent<Prepare>(proposer.TakeReady(), Role.Acceptor)[0];
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.True(prepare.Ballot > b1);
        Assert.Equal(1, prepare.FromSlot);
    }

    /// <summary>A proposer with an empty journal, its queries taken: returns the nonce they carry.</summary>
    private static long StartDiscovering(Proposer proposer)
    {
        proposer.Recovered(journalEmpty: true);
        var queries = Sent<RoundQuery>(proposer.TakeReady(), Role.Acceptor);
        Assert.Equal(3, queries.Count);
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        return queries[0].Nonce;
    }

    [Fact] // a lost journal must not let a proposer reuse a ballot its earlier incarnation used
    public void Proposer_with_an_empty_journal_asks_a_majority_of_acceptors_before_its_first_prepare()
    {
        var proposer = NewProposer(1, Basic);
        long nonce = StartDiscovering(proposer);

        proposer.Handle(new Propose(Cmd(5), 0));
        proposer.Handle(new RoundReport(2, new Ballot(7, 1), nonce));
        proposer.Handle(new RoundReport(2, new Ballot(9, 1), nonce));      // a repeated answer counts once
        proposer.Handle(new RoundReport(3, new Ballot(12, 1), nonce + 1)); // meant for another incarnation
        Assert.Empty(proposer.TakeReady().Messages);
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);

        proposer.Handle(new RoundReport(3, new Ballot(4, 2), nonce));

        var ready = proposer.TakeReady();
        Assert.Equal(new RoundReserved(7), ready.Events[0]); // the floor, journaled
        var prepares = Sent<Prepare>(ready, Role.Acceptor);
        Assert.Equal(3, prepares.Count);
        Assert.Equal(new Ballot(8, 1), prepares[0].Ballot);
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
    }

    [Fact]
    public void Proposer_with_a_journal_needs_no_discovery()
    {
        var proposer = NewProposer(1, Basic);
        proposer.Apply(new RoundReserved(3));
        proposer.Recovered(journalEmpty: false);
        Assert.Empty(proposer.TakeReady().Messages);

        proposer.Handle(new Propose(Cmd(5), 0));

        Assert.Equal(new Ballot(4, 1), Sent<Prepare>(proposer.TakeReady(), Role.Acceptor)[0].Ballot);
    }

    [Fact]
    public void Discovering_proposer_sends_no_prepare_on_election_timeout_and_asks_again_those_that_did_not_answer()
    {
        var proposer = NewProposer(1, Multi);
        long nonce = StartDiscovering(proposer);
        proposer.Handle(new RoundReport(1, Ballot.Zero, nonce));

        for (int i = 0; i < Multi.PhaseTimeoutTicks; i++) proposer.Tick();

        var ready = proposer.TakeReady();
        Assert.Empty(Sent<Prepare>(ready, Role.Acceptor));
        Assert.Equal([2, 3], ready.Messages.Where(m => m.Message is RoundQuery).Select(m => m.To.Node).Order().ToArray());
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        proposer.Handle(new RoundReport(3, Ballot.Zero, nonce));
        Assert.Equal(ProposerPhase.Idle, proposer.Phase);
        Assert.Equal([new RoundReserved(0)], proposer.TakeReady().Events);
    }

    [Fact]
    public void Discovering_proposer_forwards_commands_to_a_leader_it_hears_of_and_does_not_step_down_from_a_nack()
    {
        var proposer = NewProposer(1, Multi);
        StartDiscovering(proposer);
        proposer.Handle(new Propose(Cmd(5), 0));                // no leader known yet: kept
        proposer.Handle(new Nack(Ballot.Zero, 2, new Ballot(3, 2)));
        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);

        proposer.Handle(new Heartbeat(new Ballot(3, 2), 0));

        Assert.Equal(ProposerPhase.Discovering, proposer.Phase);
        Assert.Equal(2, proposer.Leader);
        var forwarded = Assert.Single(Sent<Propose>(proposer.TakeReady(), Role.Proposer));
        Assert.Equal(Cmd(5), forwarded.Commands);
        proposer.Handle(new Propose(Cmd(6), 0));               // and from now on straight to it
        Assert.Single(Sent<Propose>(proposer.TakeReady(), Role.Proposer));
    }
}
