using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Learners;

/// <summary>The learner of Paxos Made Simple §2.3 ("Learning a Chosen Value"): the distinguished learner
/// counts votes and tells the others; every learner applies the log in slot order.</summary>
public sealed class LearnerTests
{
    private static readonly Ballot B = new(1, 1);

    private readonly RecordingStateMachine _sm = new();

    private Learner NewLearner(int id = 1, LearnerOptions? options = null) =>
        new(id, Three, [1, 2, 3], options ?? new LearnerOptions { CatchUpTicks = 3 }, _sm);

    [Fact] // §2.3: a value is chosen when a majority of acceptors accepted it
    public void Value_is_chosen_only_when_a_quorum_of_distinct_acceptors_accepted_it()
    {
        var learner = NewLearner();
        learner.Handle(new Accept(B, 0, Cmd(5)));

        learner.Handle(new Accepted(B, 0, 1));
        learner.Handle(new Accepted(B, 0, 1)); // duplicate vote
        learner.Handle(new Accepted(B, 0, 9)); // not a configured acceptor
        Assert.Empty(_sm.Applied);

        learner.Handle(new Accepted(B, 0, 3));
        Assert.Equal([(0L, Cmd(5))], _sm.Applied);
    }

    [Fact]
    public void Votes_for_different_ballots_of_one_slot_do_not_add_up()
    {
        var learner = NewLearner();
        learner.Handle(new Accept(B, 0, Cmd(5)));
        learner.Handle(new Accept(new Ballot(2, 1), 0, Cmd(5)));

        learner.Handle(new Accepted(B, 0, 1));
        learner.Handle(new Accepted(new Ballot(2, 1), 0, 2));

        Assert.Empty(_sm.Applied);
    }

    [Fact]
    public void Quorum_of_votes_that_arrives_before_the_value_decides_when_the_accept_arrives()
    {
        var learner = NewLearner();
        learner.Handle(new Accepted(B, 0, 1));
        learner.Handle(new Accepted(B, 0, 2));
        Assert.Empty(_sm.Applied);

        learner.Handle(new Accept(B, 0, Cmd(5)));

        Assert.Equal([(0L, Cmd(5))], _sm.Applied);
    }

    [Fact]
    public void Distinguished_learner_announces_the_choice_to_the_other_learners_and_its_proposer_and_journals_it()
    {
        var learner = NewLearner();
        learner.Handle(new Accept(B, 0, Cmd(5)));
        learner.Handle(new Accepted(B, 0, 1));
        learner.Handle(new Accepted(B, 0, 2));

        var ready = learner.TakeReady();

        Assert.Equal([new Learned(0, Cmd(5))], ready.Events);
        Assert.Equal(
            new[] { Address.Learner(2), Address.Learner(3), Address.Proposer(1) }.ToHashSet(),
            ready.Messages.Select(m => m.To).ToHashSet());
        Assert.Equal(3, ready.Messages.Count);
        Assert.All(ready.Messages, m => Assert.Equal(new Chosen(0, Cmd(5)), m.Message));
    }

    [Fact]
    public void Learner_applies_in_slot_order_across_gaps_and_each_slot_once()
    {
        var learner = NewLearner();

        learner.Handle(new Chosen(2, Cmd(2)));
        learner.Handle(new Chosen(1, Cmd(1)));
        Assert.Empty(_sm.Applied);
        learner.Handle(new Chosen(0, Cmd(0)));
        learner.Handle(new Chosen(1, Cmd(1))); // late duplicate

        Assert.Equal([(0L, Cmd(0)), (1L, Cmd(1)), (2L, Cmd(2))], _sm.Applied);
        Assert.Equal(3, learner.NextToApply);
        Assert.Equal(2, learner.HighestDecided);
    }

    [Fact]
    public void Learner_asks_a_peer_to_catch_up_when_a_gap_stays_open()
    {
        var learner = NewLearner(); // CatchUpTicks = 3
        learner.Handle(new Chosen(2, Cmd(2)));
        learner.TakeReady();

        for (int i = 0; i < 3; i++)
        {
            learner.Tick();
            Assert.Empty(learner.TakeReady().Messages);
        }
        learner.Tick();

        var request = Assert.Single(learner.TakeReady().Messages);
        Assert.Equal(new CatchUp(1, 0), request.Message);
        Assert.NotEqual(1, request.To.Node);
    }

    [Fact]
    public void Learner_told_by_a_heartbeat_that_it_is_behind_asks_to_catch_up()
    {
        var learner = NewLearner();
        learner.Handle(new Heartbeat(new Ballot(3, 2), FirstUnchosen: 4));

        for (int i = 0; i < 5; i++) learner.Tick();

        Assert.Contains(learner.TakeReady().Messages, m => m.Message is CatchUp { FromSlot: 0, Learner: 1 });
    }

    [Fact]
    public void Learner_that_is_not_behind_and_does_not_probe_sends_nothing_on_ticks()
    {
        var learner = NewLearner(options: new LearnerOptions { IdleProbeTicks = 0 });
        learner.Handle(new Chosen(0, Cmd(0)));
        learner.TakeReady();

        for (int i = 0; i < 20; i++) learner.Tick();

        Assert.Empty(learner.TakeReady().Messages);
    }

    [Fact]
    public void Learner_answers_catch_up_from_its_retained_values()
    {
        var learner = NewLearner(options: new LearnerOptions { MaxCatchUpBatch = 2 });
        for (int s = 0; s < 4; s++) learner.Handle(new Chosen(s, Cmd(s)));
        learner.TakeReady();

        learner.Handle(new CatchUp(2, 1));

        var reply = Assert.Single(learner.TakeReady().Messages);
        Assert.Equal(Address.Learner(2), reply.To);
        Assert.Equal(new ChosenRange(1, [Cmd(1), Cmd(2)]), reply.Message);
    }

    [Fact]
    public void Learner_does_not_answer_catch_up_for_slots_it_has_not_applied_or_no_longer_retains()
    {
        var learner = NewLearner(options: new LearnerOptions { RetainedValues = 2 });
        for (int s = 0; s < 5; s++) learner.Handle(new Chosen(s, Cmd(s)));
        learner.TakeReady();

        learner.Handle(new CatchUp(2, 5));          // nothing applied there yet
        Assert.Empty(learner.TakeReady().Messages);

        learner.Handle(new CatchUp(2, 3));          // slots 3 and 4 are retained
        var reply = (ChosenRange)Assert.Single(learner.TakeReady().Messages).Message;
        Assert.Equal(3, reply.FromSlot);
        Assert.Equal([Cmd(3), Cmd(4)], reply.Values.ToArray());

        // Slots 0..2 were dropped: a range from 3 would leave the peer a gap it could never fill,
        // and this state machine cannot be transferred whole, so there is no answer at all.
        learner.Handle(new CatchUp(2, 0));
        Assert.Empty(learner.TakeReady().Messages);
    }

    [Fact]
    public void Learner_answers_a_catch_up_from_before_its_retained_values_with_its_whole_state()
    {
        var source = new SnapshotStateMachine();
        var learner = new Learner(1, Three, [1, 2, 3], new LearnerOptions { RetainedValues = 2 }, source);
        for (int s = 0; s < 5; s++) learner.Handle(new Chosen(s, Cmd(s)));
        learner.TakeReady();

        learner.Handle(new CatchUp(2, 0));
        var transfer = (StateTransfer)Assert.Single(learner.TakeReady().Messages).Message;
        Assert.Equal(5, transfer.NextToApply);

        // The lagging peer installs it, skips the slots it covers, and goes on applying from there.
        var target = new SnapshotStateMachine();
        var behind = new Learner(2, Three, [1, 2, 3], new LearnerOptions(), target);
        behind.Handle(new Chosen(6, Cmd(6)));       // waits behind the gap at 0..5
        behind.Handle(transfer);
        Assert.Equal(source.Log, target.Log);
        Assert.True(behind.InstalledSnapshot);
        behind.Handle(new Chosen(5, Cmd(5)));
        Assert.Equal(7, behind.NextToApply);
        Assert.Equal(Enumerable.Range(0, 7).Select(i => Cmd(i)).ToList(), target.Log);
    }

    private sealed class SnapshotStateMachine : ISnapshotStateMachine
    {
        public List<SlotValue> Log { get; private set; } = new();

        public void Apply(long slot, SlotValue value) => Log.Add(value);

        public byte[] TakeSnapshot() =>
            System.Text.Encoding.UTF8.GetBytes(string.Join(",", Log.Select(v => Convert.ToBase64String(v.Commands[0].ToArray()))));

        public void RestoreSnapshot(byte[] state) =>
            Log = System.Text.Encoding.UTF8.GetString(state).Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(b => SlotValue.Of(Convert.FromBase64String(b))).ToList();
    }

    [Fact]
    public void Catching_up_learner_applies_a_chosen_range()
    {
        var learner = NewLearner(2);

        learner.Handle(new ChosenRange(0, [Cmd(0), Cmd(1)]));

        Assert.Equal([(0L, Cmd(0)), (1L, Cmd(1))], _sm.Applied);
        Assert.DoesNotContain(learner.TakeReady().Messages, m => m.To.Role == Role.Learner); // no re-announcement
    }

    [Fact]
    public void Recovered_learner_reapplies_its_journal_without_sending_anything()
    {
        var learner = NewLearner();

        learner.Recover(new Learned(1, Cmd(1)));
        learner.Recover(new Learned(0, Cmd(0)));

        Assert.Equal(2, learner.NextToApply);
        var ready = learner.TakeReady();
        Assert.Empty(ready.Messages);
        Assert.Empty(ready.Events);
    }

    [Fact] // found by the simulation (a restarted proposer re-proposed chosen slots and never heard back)
    public void Learner_tells_its_proposer_a_slot_is_already_chosen_when_it_sees_an_accept_for_it()
    {
        var learner = NewLearner();
        learner.Handle(new Chosen(0, Cmd(7)));
        learner.Handle(new Chosen(2, Cmd(9)));
        learner.TakeReady();

        learner.Handle(new Accept(new Ballot(5, 1), 0, Cmd(7)));  // applied
        learner.Handle(new Accept(new Ballot(5, 1), 2, Cmd(9)));  // decided, waiting behind the gap at 1

        var ready = learner.TakeReady();
        Assert.Equal(
            [new Envelope(Address.Proposer(1), new Chosen(0, Cmd(7))), new Envelope(Address.Proposer(1), new Chosen(2, Cmd(9)))],
            ready.Messages);
        Assert.Empty(ready.Events);
    }

    [Fact] // found by the simulation: in Basic Paxos a learner that missed the last Chosen never learned it
    public void Idle_learner_probes_a_peer_now_and_then_in_case_it_missed_the_last_announcement()
    {
        var learner = NewLearner(options: new LearnerOptions { IdleProbeTicks = 10 });
        learner.Handle(new Chosen(0, Cmd(0)));
        learner.TakeReady();

        for (int i = 0; i < 9; i++) learner.Tick();
        Assert.Empty(learner.TakeReady().Messages);
        learner.Tick();

        var probe = Assert.Single(learner.TakeReady().Messages);
        Assert.Equal(new CatchUp(1, 1), probe.Message);
        Assert.NotEqual(1, probe.To.Node);
    }

    [Fact]
    public void Peer_that_has_nothing_newer_ignores_a_probe()
    {
        var learner = NewLearner();
        learner.Handle(new Chosen(0, Cmd(0)));
        learner.TakeReady();

        learner.Handle(new CatchUp(2, 1));

        Assert.Empty(learner.TakeReady().Messages);
    }
}
