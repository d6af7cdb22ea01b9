using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Learners;

/// <summary>The learner of Paxos Made Simple §2.3 ("Learning a Chosen Value"): the distinguished learner
/// counts votes and tells the others; every learner hands the log to its state machine in slot order.</summary>
public sealed class LearnerTests
{
    private static readonly Ballot B = new(1, 1);

    /// <summary>The state machine the shell drives from the learner's Readies (checks order and gaps itself).</summary>
    private readonly AppliedLog _log = new();

    private static Learner NewLearner(int id = 1, LearnerOptions? options = null) =>
        Agents.NewLearner(id, options ?? new LearnerOptions { CatchUpTicks = 3 });

    private Ready Step(Learner learner, IInput input) => _log.Step(learner, input);

    private Ready StepEach(Learner learner, params IInput[] inputs) =>
        ReadyReading.Merge(inputs.Select(i => Step(learner, i)).ToList());

    [Fact] // §2.3: a value is chosen when a majority of acceptors accepted it
    public void Value_is_chosen_only_when_a_quorum_of_distinct_acceptors_accepted_it()
    {
        var learner = NewLearner();
        Step(learner, new Accept(B, 0, Cmd(5)));

        StepEach(learner,
            new Accepted(B, 0, 1),
            new Accepted(B, 0, 1),  // duplicate vote
            new Accepted(B, 0, 9)); // not a configured acceptor
        Assert.Empty(_log.Applied);

        Step(learner, new Accepted(B, 0, 3));
        Assert.Equal([(0L, Cmd(5))], _log.Applied);
    }

    [Fact]
    public void Votes_for_different_ballots_of_one_slot_do_not_add_up()
    {
        var learner = NewLearner();
        StepEach(learner, new Accept(B, 0, Cmd(5)), new Accept(new Ballot(2, 1), 0, Cmd(5)));

        StepEach(learner, new Accepted(B, 0, 1), new Accepted(new Ballot(2, 1), 0, 2));

        Assert.Empty(_log.Applied);
    }

    [Fact]
    public void Quorum_of_votes_that_arrives_before_the_value_decides_when_the_accept_arrives()
    {
        var learner = NewLearner();
        StepEach(learner, new Accepted(B, 0, 1), new Accepted(B, 0, 2));
        Assert.Empty(_log.Applied);

        Step(learner, new Accept(B, 0, Cmd(5)));

        Assert.Equal([(0L, Cmd(5))], _log.Applied);
    }

    [Fact] // the journal is a cache of what a quorum of acceptors holds: nothing waits for it
    public void Distinguished_learner_announces_the_choice_to_the_other_learners_and_its_proposer_and_caches_it()
    {
        var learner = NewLearner();
        StepEach(learner, new Accept(B, 0, Cmd(5)), new Accepted(B, 0, 1));

        var ready = Step(learner, new Accepted(B, 0, 2));

        Assert.Equal([new Learned(0, Cmd(5))], ready.Cache);
        Assert.Empty(ready.Persist);
        var chosen = ready.Messages.Where(m => m.Message is Chosen).ToList();
        Assert.Equal(
            new[] { AgentId.Learner(2), AgentId.Learner(3), AgentId.Proposer(1) }.ToHashSet(),
            chosen.Select(m => m.To).ToHashSet());
        Assert.Equal(3, chosen.Count);
        Assert.All(chosen, m => Assert.Equal(new Chosen(0, Cmd(5)), m.Message));
        // After applying, its proposer hears where the log stands (and which memberships govern what follows).
        Assert.Equal(4, ready.Messages.Count);
        Assert.Equal(1, Assert.IsType<LearnerProgress>(ready.Messages[^1].Message).NextToApply);
        Assert.Equal([new ChosenSlot(0, Cmd(5))], ready.Apply);
    }

    [Fact]
    public void Learner_applies_in_slot_order_across_gaps_and_each_slot_once()
    {
        var learner = NewLearner();

        StepEach(learner, new Chosen(2, Cmd(2)), new Chosen(1, Cmd(1)));
        Assert.Empty(_log.Applied);
        StepEach(learner,
            new Chosen(0, Cmd(0)),
            new Chosen(1, Cmd(1))); // late duplicate

        Assert.Equal([(0L, Cmd(0)), (1L, Cmd(1)), (2L, Cmd(2))], _log.Applied);
        Assert.Equal(3, learner.NextToApply);
        Assert.Equal(2, learner.HighestDecided);
    }

    [Fact] // the Ready contract: "apply each chosen value in order (slots with no gaps, each exactly once)"
    public void Chosen_values_come_out_in_Apply_in_slot_order_in_the_step_that_closes_the_gap()
    {
        var learner = NewLearner();

        Assert.Empty(learner.Step(new Chosen(3, Cmd(3))).Apply);
        Assert.Empty(learner.Step(new Chosen(1, Cmd(1))).Apply);
        var first = learner.Step(new Chosen(0, Cmd(0)));
        var second = learner.Step(new Chosen(2, Cmd(2)));
        var duplicate = learner.Step(new Chosen(2, Cmd(2)));

        Assert.Equal([new ChosenSlot(0, Cmd(0)), new ChosenSlot(1, Cmd(1))], first.Apply);
        Assert.Equal([new ChosenSlot(2, Cmd(2)), new ChosenSlot(3, Cmd(3))], second.Apply);
        Assert.Empty(duplicate.Apply);
    }

    [Fact] // a Learned record may be lost with no harm, so it must never hold back a message
    public void Learned_records_go_to_Cache_and_never_to_Persist_however_the_value_was_learned()
    {
        var learner = NewLearner();

        var readies = new[]
        {
            StepEach(learner, new Accept(B, 0, Cmd(0)), new Accepted(B, 0, 1), new Accepted(B, 0, 2)), // counted here
            Step(learner, new Chosen(1, Cmd(1))),                                                    // announced by a peer
            Step(learner, new ChosenRange(2, [Cmd(2), Cmd(3)])),                                     // fetched from a peer
        };

        Assert.All(readies, r => Assert.Empty(r.Persist));
        Assert.Equal([new Learned(0, Cmd(0)), new Learned(1, Cmd(1)), new Learned(2, Cmd(2)), new Learned(3, Cmd(3))],
            readies.SelectMany(r => r.Cache));
    }

    [Fact]
    public void Learner_asks_a_peer_to_catch_up_when_a_gap_stays_open()
    {
        var learner = NewLearner(); // CatchUpTicks = 3
        Step(learner, new Chosen(2, Cmd(2)));

        for (int i = 0; i < 3; i++) Assert.Empty(Step(learner, Tick.Instance).Messages);
        var ready = Step(learner, Tick.Instance);

        var request = Assert.Single(ready.Messages);
        Assert.Equal(new CatchUp(1, 0), request.Message);
        Assert.Equal(Agent.Learner, request.To.Agent);
        Assert.NotEqual(1, request.To.Node);
    }

    [Fact]
    public void Learner_told_by_a_heartbeat_that_it_is_behind_asks_to_catch_up()
    {
        var learner = NewLearner();
        Step(learner, new Heartbeat(new Ballot(3, 2), FirstUnchosen: 4));

        var ready = learner.Ticks(5);

        Assert.Contains(ready.Messages, m => m.Message is CatchUp { FromSlot: 0, Learner: 1 });
    }

    [Fact]
    public void Learner_that_is_not_behind_and_does_not_probe_sends_nothing_on_ticks()
    {
        var learner = NewLearner(options: new LearnerOptions { IdleProbeTicks = 0 });
        Step(learner, new Chosen(0, Cmd(0)));

        Assert.Empty(learner.Ticks(20).Messages);
    }

    [Fact]
    public void Learner_answers_catch_up_from_its_retained_values()
    {
        var learner = NewLearner(options: new LearnerOptions { MaxCatchUpBatch = 2 });
        for (int s = 0; s < 4; s++) Step(learner, new Chosen(s, Cmd(s)));

        var ready = Step(learner, new CatchUp(2, 1));

        var reply = Assert.Single(ready.Messages);
        Assert.Equal(AgentId.Learner(2), reply.To);
        Assert.Equal(new ChosenRange(1, [Cmd(1), Cmd(2)]), reply.Message);
        Assert.Empty(ready.SendStateTo);
    }

    [Fact]
    public void Learner_does_not_answer_catch_up_for_slots_it_has_not_applied_or_no_longer_retains()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedValues = 2, Snapshots = false });
        for (int s = 0; s < 5; s++) Step(learner, new Chosen(s, Cmd(s)));

        Assert.True(Step(learner, new CatchUp(2, 5)).IsEmpty); // nothing applied there yet

        var retained = Step(learner, new CatchUp(2, 3));          // slots 3 and 4 are retained
        var reply = Assert.IsType<ChosenRange>(Assert.Single(retained.Messages).Message);
        Assert.Equal(3, reply.FromSlot);
        Assert.Equal([Cmd(3), Cmd(4)], reply.Values.ToArray());

        // Slots 0..2 were dropped: a range from 3 would leave the peer a gap it could never fill,
        // and this state machine cannot be transferred whole, so there is no answer at all.
        var dropped = Step(learner, new CatchUp(2, 0));
        Assert.Empty(dropped.Messages);
        Assert.Empty(dropped.SendStateTo);
    }

    /// <summary>A value of one command of <paramref name="bytes"/> bytes, distinct per <paramref name="n"/>.</summary>
    private static SlotValue Sized(int n, int bytes)
    {
        var command = new byte[bytes];
        BitConverter.TryWriteBytes(command, n);
        return SlotValue.Of(command);
    }

    [Fact] // issue 14: a count of 10 KB values is no bound on memory, a byte budget is
    public void Learner_with_a_byte_budget_retains_at_most_a_quarter_more_than_it_and_sends_the_state_to_a_peer_behind_it()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedBytes = 1000, SnapshotEvery = 0 });
        for (int s = 0; s < 30; s++)
        {
            Step(learner, new Chosen(s, Sized(s, 100)));
            long applied = s + 1;
            // What a catch-up from slot f is answered with tells what is retained: a range from f while f is retained.
            long oldest = Enumerable.Range(0, (int)applied).First(f => learner.Step(new CatchUp(2, f)).SendStateTo.Count == 0);
            Assert.True((applied - oldest) * 100 <= 1250, $"after slot {s}: {applied - oldest} values of 100 B retained");
            Assert.True(applied < 13 || applied - oldest >= 10, $"after slot {s}: only {applied - oldest} values retained");
        }

        var reply = Assert.IsType<ChosenRange>(Assert.Single(Step(learner, new CatchUp(2, 20)).Messages).Message);
        Assert.Equal(Enumerable.Range(20, 10).Select(s => Sized(s, 100)), reply.Values);
        Assert.Equal([2], Step(learner, new CatchUp(2, 5)).SendStateTo);
    }

    [Fact]
    public void Learner_with_a_byte_budget_keeps_its_newest_value_even_when_it_alone_is_larger()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedBytes = 10, SnapshotEvery = 0 });
        for (int s = 0; s < 3; s++) Step(learner, new Chosen(s, Sized(s, 100)));

        var reply = Assert.IsType<ChosenRange>(Assert.Single(Step(learner, new CatchUp(2, 2)).Messages).Message);
        Assert.Equal([Sized(2, 100)], reply.Values.ToArray());
        Assert.Equal([2], Step(learner, new CatchUp(2, 1)).SendStateTo);
    }

    [Fact]
    public void Catch_up_reply_holds_at_most_MaxCatchUpBytes_of_values_and_at_least_one_value()
    {
        var learner = NewLearner(options: new LearnerOptions { MaxCatchUpBytes = 250 });
        var tiny = NewLearner(options: new LearnerOptions { MaxCatchUpBytes = 50 });
        for (int s = 0; s < 5; s++)
        {
            Step(learner, new Chosen(s, Sized(s, 100)));
            tiny.Step(new Chosen(s, Sized(s, 100)));
        }

        var reply = Assert.IsType<ChosenRange>(Assert.Single(Step(learner, new CatchUp(2, 1)).Messages).Message);
        Assert.Equal([Sized(1, 100), Sized(2, 100)], reply.Values.ToArray());
        var one = Assert.IsType<ChosenRange>(Assert.Single(tiny.Step(new CatchUp(2, 1)).Messages).Message);
        Assert.Equal([Sized(1, 100)], one.Values.ToArray());
    }

    [Fact] // a peer behind what this learner retains can only be brought up to date with the whole state
    public void Catch_up_from_before_the_retained_values_asks_the_shell_to_send_that_learner_the_state_unless_snapshots_are_off()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedValues = 2 });
        var without = NewLearner(options: new LearnerOptions { RetainedValues = 2, Snapshots = false });
        for (int s = 0; s < 5; s++)
        {
            Step(learner, new Chosen(s, Cmd(s)));
            without.Step(new Chosen(s, Cmd(s)));
        }

        var ready = Step(learner, new CatchUp(3, 1));

        Assert.Equal([3], ready.SendStateTo);
        Assert.Empty(ready.Messages); // the shell sends the StateTransfer, after this step's applies
        Assert.Empty(without.Step(new CatchUp(3, 1)).SendStateTo);
        Assert.Empty(learner.Step(new CatchUp(3, 4)).SendStateTo); // slot 4 is still retained: a range will do
    }

    [Fact]
    public void Learner_answers_a_catch_up_from_before_its_retained_values_with_its_whole_state()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedValues = 2 });
        for (int s = 0; s < 5; s++) Step(learner, new Chosen(s, Cmd(s)));

        var asked = Step(learner, new CatchUp(2, 0));
        Assert.Equal([2], asked.SendStateTo);
        var transfer = new StateTransfer(learner.NextToApply, _log.Snapshot()); // what the shell sends
        Assert.Equal(5, transfer.NextToApply);

        // The lagging peer installs it, skips the slots it covers, and goes on applying from there.
        var target = new AppliedLog();
        var behind = Agents.NewLearner(2, new LearnerOptions());
        target.Step(behind, new Chosen(6, Cmd(6)));       // waits behind the gap at 0..5
        target.Step(behind, transfer);
        Assert.Equal(_log.Applied, target.Applied);
        target.Step(behind, new Chosen(5, Cmd(5)));
        Assert.Equal(7, behind.NextToApply);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => Cmd(i)).ToList(), target.Applied.Select(a => a.Value).ToList());
    }

    [Fact]
    public void State_transfer_ahead_of_the_learner_is_installed_snapshotted_at_once_and_reported_to_its_proposer()
    {
        var learner = NewLearner(2, new LearnerOptions());
        Step(learner, new Chosen(0, Cmd(0)));
        Step(learner, new Chosen(6, Cmd(6)));
        var state = AppliedLog.Encode(Enumerable.Range(0, 5).Select(Cmd));

        var ready = Step(learner, new StateTransfer(5, state));

        Assert.Equal(new StateInstall(5, state), ready.Install, new InstallComparer());
        Assert.Empty(ready.Apply);                 // slot 5 is still missing before 6
        Assert.Equal(5, ready.SnapshotAt);         // the journal no longer leads here: snapshot at once
        AssertProgress(ready, proposer: 2, nextToApply: 5);
        Assert.Equal(5, learner.NextToApply);

        Assert.True(Step(learner, new StateTransfer(4, AppliedLog.Encode(Enumerable.Range(0, 4).Select(Cmd)))).IsEmpty); // not ahead
        var off = NewLearner(3, new LearnerOptions { Snapshots = false });
        Assert.True(off.Step(new StateTransfer(5, state)).IsEmpty);
        Assert.Equal(0, off.NextToApply);
    }

    private sealed class InstallComparer : IEqualityComparer<StateInstall?>
    {
        public bool Equals(StateInstall? x, StateInstall? y) =>
            x is not null && y is not null && x.NextToApply == y.NextToApply && x.State.AsSpan().SequenceEqual(y.State);

        public int GetHashCode(StateInstall? obj) => obj?.NextToApply.GetHashCode() ?? 0;
    }

    [Fact]
    public void Catching_up_learner_applies_a_chosen_range()
    {
        var learner = NewLearner(2);

        var ready = Step(learner, new ChosenRange(0, [Cmd(0), Cmd(1)]));

        Assert.Equal([(0L, Cmd(0)), (1L, Cmd(1))], _log.Applied);
        Assert.DoesNotContain(ready.Messages, m => m.To.Agent == Agent.Learner); // no re-announcement
    }

    [Fact]
    public void Recovered_learner_replays_its_journal_without_journaling_or_announcing_it_again()
    {
        var learner = new Learner(1, Three, [1, 2, 3], new LearnerOptions());
        learner.Recover(new Learned(1, Cmd(1)));
        learner.Recover(new Learned(0, Cmd(0)));

        var ready = Step(learner, Recovered.Instance);

        Assert.Equal(2, learner.NextToApply);
        Assert.Empty(ready.Persist);
        Assert.Empty(ready.Cache);
        AssertProgress(ready, proposer: 1, nextToApply: 2, restarted: true); // only where it stands
    }

    [Fact] // a restarted node's state machine starts empty: the shell rebuilds it from what the first step hands over
    public void Values_recovered_from_the_journal_come_out_in_the_Apply_of_the_Recovered_step()
    {
        var learner = new Learner(1, Three, [1, 2, 3], new LearnerOptions());
        learner.Recover(new Learned(2, Cmd(2)));
        learner.Recover(new Learned(0, Cmd(0)));
        learner.Recover(new Learned(1, Cmd(1)));
        learner.Recover(new Learned(4, Cmd(4))); // behind a gap at 3: decided, not applied

        var ready = learner.Step(Recovered.Instance);

        Assert.Equal([new ChosenSlot(0, Cmd(0)), new ChosenSlot(1, Cmd(1)), new ChosenSlot(2, Cmd(2))], ready.Apply);
        Assert.Null(ready.Install);
        Assert.Equal([new ChosenSlot(3, Cmd(3)), new ChosenSlot(4, Cmd(4))], learner.Step(new Chosen(3, Cmd(3))).Apply);
    }

    [Fact]
    public void Recovered_snapshot_comes_out_as_Install_followed_by_the_values_journaled_after_it()
    {
        var state = AppliedLog.Encode([Cmd(0), Cmd(1), Cmd(2)]);
        var learner = new Learner(1, Three, [1, 2, 3], new LearnerOptions());
        learner.Recover(new LearnerSnapshot(3, state));
        learner.Recover(new Learned(3, Cmd(3)));
        learner.Recover(new Learned(4, Cmd(4)));

        var ready = Step(learner, Recovered.Instance);

        Assert.Equal(new StateInstall(3, state), ready.Install, new InstallComparer());
        Assert.Equal([new ChosenSlot(3, Cmd(3)), new ChosenSlot(4, Cmd(4))], ready.Apply);
        Assert.Null(ready.SnapshotAt); // the snapshot it has is durable already
        AssertProgress(ready, proposer: 1, nextToApply: 5, restarted: true);
        Assert.Equal(Enumerable.Range(0, 5).Select(i => ((long)i, Cmd(i))), _log.Applied);
    }

    [Fact] // the shell steps the learner with Recovered only once the journal is replayed
    public void Learner_ignores_every_input_before_it_has_recovered()
    {
        var learner = new Learner(1, Three, [1, 2, 3], new LearnerOptions { IdleProbeTicks = 1 });

        foreach (var input in new IInput[] { new Chosen(0, Cmd(0)), new Accept(B, 1, Cmd(1)), new Accepted(B, 1, 1), new Accepted(B, 1, 2),
                     Tick.Instance, Tick.Instance, ProgressQuery.Instance, new CatchUp(2, 0), new SnapshotSaved(0) })
            Assert.True(learner.Step(input).IsEmpty, $"{input} before Recovered");

        Assert.Equal(0, learner.NextToApply);
    }

    [Fact]
    public void Learner_asks_for_a_snapshot_every_SnapshotEvery_applied_slots()
    {
        var learner = NewLearner(options: new LearnerOptions { SnapshotEvery = 3 });
        var without = NewLearner(options: new LearnerOptions { SnapshotEvery = 3, Snapshots = false });

        var at = new List<long?>();
        for (int s = 0; s < 7; s++)
        {
            at.Add(Step(learner, new Chosen(s, Cmd(s))).SnapshotAt);
            Assert.Null(without.Step(new Chosen(s, Cmd(s))).SnapshotAt);
        }

        Assert.Equal([null, null, 3, null, null, 6, null], at);
        // Slots decided out of order count when they are applied: the snapshot holds every slot below it.
        Assert.Null(Step(learner, new Chosen(8, Cmd(8))).SnapshotAt);
        Assert.Equal(9, Step(learner, new Chosen(7, Cmd(7))).SnapshotAt);
        Assert.Equal(9, _log.NextSlot);
    }

    [Fact] // the acceptor compacts below each snapshot: snapshots by bytes bound what it holds by bytes
    public void Learner_also_asks_for_a_snapshot_once_the_values_applied_since_the_last_reach_SnapshotEveryBytes()
    {
        var learner = NewLearner(options: new LearnerOptions { SnapshotEvery = 1000, SnapshotEveryBytes = 250 });
        var without = NewLearner(options: new LearnerOptions { SnapshotEvery = 1000, SnapshotEveryBytes = 250, Snapshots = false });

        var at = new List<long?>();
        for (int s = 0; s < 7; s++)
        {
            at.Add(Step(learner, new Chosen(s, Sized(s, 100))).SnapshotAt);
            Assert.Null(without.Step(new Chosen(s, Sized(s, 100))).SnapshotAt);
        }

        Assert.Equal([null, null, 3, null, null, 6, null], at);
        Assert.Equal(8, Step(learner, new Chosen(7, Sized(7, 300))).SnapshotAt); // one value over the budget: at once
    }

    [Fact] // an acceptor's entries below a durable learner snapshot on its node are chosen and held: they may go
    public void Saved_snapshot_makes_the_learner_tell_its_own_acceptor_to_compact_below_it_unless_told_not_to()
    {
        var learner = NewLearner(options: new LearnerOptions { SnapshotEvery = 2 });
        var without = NewLearner(options: new LearnerOptions { SnapshotEvery = 2, CompactAcceptor = false });
        StepEach(learner, new Chosen(0, Cmd(0)), new Chosen(1, Cmd(1)));
        without.StepEach(new Chosen(0, Cmd(0)), new Chosen(1, Cmd(1)));

        var ready = Step(learner, new SnapshotSaved(2));

        Assert.Equal([new Outgoing(AgentId.Acceptor(1), new CompactBelow(2))], ready.Messages);
        Assert.True(without.Step(new SnapshotSaved(2)).IsEmpty);
        Assert.Empty(Step(learner, new SnapshotSaved(5)).Messages); // not applied that far: never compact past what it holds
    }

    [Fact]
    public void Learner_answers_its_proposers_progress_query_with_how_far_it_has_applied()
    {
        var learner = NewLearner(3);
        StepEach(learner, new Chosen(0, Cmd(0)), new Chosen(1, Cmd(1)), new Chosen(3, Cmd(3)));

        var ready = Step(learner, ProgressQuery.Instance);

        AssertProgress(ready, proposer: 3, nextToApply: 2);
    }

    [Fact] // found by the simulation (a restarted proposer re-proposed chosen slots and never heard back)
    public void Learner_tells_its_proposer_a_slot_is_already_chosen_when_it_sees_an_accept_for_it()
    {
        var learner = NewLearner();
        StepEach(learner, new Chosen(0, Cmd(7)), new Chosen(2, Cmd(9)));

        var ready = StepEach(learner,
            new Accept(new Ballot(5, 1), 0, Cmd(7)),  // applied
            new Accept(new Ballot(5, 1), 2, Cmd(9))); // decided, waiting behind the gap at 1

        Assert.Equal(
            [new Outgoing(AgentId.Proposer(1), new Chosen(0, Cmd(7))), new Outgoing(AgentId.Proposer(1), new Chosen(2, Cmd(9)))],
            ready.Messages);
        Assert.Empty(ready.Persist);
        Assert.Empty(ready.Cache);
    }

    [Fact] // found by the simulation: in Basic Paxos a learner that missed the last Chosen never learned it
    public void Idle_learner_probes_a_peer_now_and_then_in_case_it_missed_the_last_announcement()
    {
        var learner = NewLearner(options: new LearnerOptions { IdleProbeTicks = 10 });
        Step(learner, new Chosen(0, Cmd(0)));

        Assert.Empty(learner.Ticks(9).Messages);
        var ready = learner.Step(Tick.Instance);

        var probe = Assert.Single(ready.Messages);
        Assert.Equal(new CatchUp(1, 1), probe.Message);
        Assert.NotEqual(1, probe.To.Node);
    }

    [Fact]
    public void Peer_that_has_nothing_newer_ignores_a_probe()
    {
        var learner = NewLearner();
        Step(learner, new Chosen(0, Cmd(0)));

        Assert.True(Step(learner, new CatchUp(2, 1)).IsEmpty);
    }

    /// <summary>The step's only message is the learner's progress to its proposer: how far it applied, and the memberships
    /// it knows (here the first one, from slot 0).</summary>
    private static void AssertProgress(Ready ready, int proposer, long nextToApply, bool restarted = false)
    {
        // Besides its progress, a learner tells its acceptor the memberships the first time it reports.
        Assert.All(ready.Messages.Where(m => m.To != AgentId.Proposer(proposer)),
            m => Assert.Equal((AgentId.Acceptor(proposer), typeof(MembershipKnown)), (m.To, m.Message.GetType())));
        var only = Assert.Single(ready.Messages, m => m.To == AgentId.Proposer(proposer));
        var progress = Assert.IsType<LearnerProgress>(only.Message);
        Assert.Equal(nextToApply, progress.NextToApply);
        Assert.Equal(restarted, progress.Restarted);
        Assert.Equal(0, Assert.Single(progress.Configurations).EffectiveFrom);
    }
}
