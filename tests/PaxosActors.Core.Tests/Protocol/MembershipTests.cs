using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Protocol;

/// <summary>
/// The acceptor set as replicated state (Paxos Made Simple §3: the membership chosen in slot s governs slots from
/// s + alpha on). The simulation proves it under faults; these pin each rule down.
/// </summary>
public sealed class MembershipTests
{
    private static readonly Membership OneTwoThree = new([1, 2, 3], [4, 5]);
    private static readonly Membership ThreeFourFive = new([3, 4, 5], [1, 2]);
    private const int Alpha = 4;

    /// <summary>The seed's epoch: <see cref="OneTwoThree"/> from slot 0.</summary>
    private static readonly MembershipEpoch First = new(0, OneTwoThree);

    private static SlotValue Change(MembershipEpoch from, Membership to) => SlotValue.Reconfigure(new Reconfiguration(from, to));

    /// <summary>Client commands chosen in slots [<paramref name="from"/>, <paramref name="to"/>).</summary>
    private static IEnumerable<IInput> Commands(int from, int to) =>
        Enumerable.Range(from, to - from).Select(s => (IInput)new Chosen(s, Cmd(s)));

    [Fact]
    public void Reconfiguration_chosen_in_slot_s_governs_slots_from_s_plus_alpha_and_not_before()
    {
        var history = new MembershipHistory(OneTwoThree, Alpha);
        history.Apply(0, Cmd(1));
        var epoch = history.Apply(1, Change(First, ThreeFourFive));

        Assert.Equal(new MembershipEpoch(1 + Alpha, ThreeFourFive), epoch);
        Assert.Equal(OneTwoThree, history.At(1 + Alpha - 1));
        Assert.Equal(ThreeFourFive, history.At(1 + Alpha));
        Assert.Equal(ThreeFourFive, history.Latest);
        Assert.True(history.HasPendingAt(2));
        Assert.Equal(2 + Alpha, history.KnownThrough); // slots 0 and 1 applied: slots up to 1 + alpha are known
    }

    [Fact] // one change at a time: a change computed from a stale view is chosen but changes nothing
    public void Reconfiguration_whose_expected_membership_is_not_the_latest_changes_nothing()
    {
        var history = new MembershipHistory(OneTwoThree, Alpha);
        history.Apply(0, Change(First, ThreeFourFive));

        var stale = history.Apply(1, Change(First, new Membership([1, 2])));

        Assert.Null(stale);
        Assert.Equal(ThreeFourFive, history.Latest);
        Assert.Equal(2, history.Epochs.Length);
    }

    /// <summary>A -> B -> A, then a copy of the first change chosen in a later slot (a retry after a leader change
    /// re-proposes it; Paxos may choose it again): the set must stay A. The operator's removal of 4 was acknowledged, and a
    /// change naming its expected set by value alone would find that set again and undo it.</summary>
    [Fact]
    public void Duplicate_of_a_change_chosen_after_the_set_went_back_to_its_expected_value_changes_nothing()
    {
        var a = new Membership([1, 2, 3], [4]);
        var b = new Membership([1, 2, 3, 4]);
        var learner = Agents.Started(new Learner(1, a, [1, 2, 3, 4], new LearnerOptions { ReconfigurationAlpha = Alpha }), []);
        var add = Change(learner.Configurations.LatestEpoch, b);         // named from the epoch the operator read

        learner.Step(new Chosen(0, add));                                  // A -> B: B governs from slot alpha
        learner.StepEach(Commands(1, Alpha));
        Assert.Equal(b, learner.Configurations.At(Alpha));
        learner.Step(new Chosen(Alpha, Change(learner.Configurations.LatestEpoch, a))); // B -> A: the operator removes 4 again
        learner.StepEach(Commands(Alpha + 1, 2 * Alpha + 1));
        Assert.Equal(a, learner.Configurations.At(2 * Alpha));             // A is in force again, the removal acknowledged

        var duplicate = learner.Step(new Chosen(learner.NextToApply, add)); // the first change, chosen again

        Assert.Equal(a, learner.Configurations.Latest);
        Assert.Equal(3, learner.Configurations.Epochs.Length);
        Assert.DoesNotContain(duplicate.Notices, n => n.Text.Contains("changes the configuration"));
    }

    /// <summary>A change recorded before changes named their epoch (a journal or snapshot written then) keeps the rule it
    /// was first applied with, by set alone: the quorums of the slots after it were computed that way when they were
    /// chosen, and a replay must compute the same.</summary>
    [Fact]
    public void Change_without_an_epoch_matches_by_its_set_alone_as_when_it_was_written()
    {
        var a = new Membership([1, 2, 3], [4]);
        var b = new Membership([1, 2, 3, 4]);
        var old = SlotValue.Reconfigure(Reconfiguration.WithoutEpoch(a, b));
        var history = new MembershipHistory(a, Alpha);

        Assert.Equal(new MembershipEpoch(Alpha, b), history.Apply(0, old));
        Assert.Equal(new MembershipEpoch(1 + Alpha, a), history.Apply(1, SlotValue.Reconfigure(Reconfiguration.WithoutEpoch(b, a))));
        Assert.Equal(new MembershipEpoch(2 + Alpha, b), history.Apply(2, old)); // the old rule: its set is back, it applies
    }

    [Fact] // epochs strictly ascend, so a change expects at most one epoch a history ever has
    public void Change_naming_the_latest_set_but_an_earlier_epoch_changes_nothing()
    {
        var history = new MembershipHistory(OneTwoThree, Alpha);
        history.Apply(0, Change(First, ThreeFourFive));
        history.Apply(1, Change(history.LatestEpoch, OneTwoThree)); // back to {1,2,3}, from slot 1 + alpha

        Assert.Null(history.Apply(2, Change(First, new Membership([1, 2]))));
        Assert.Equal(new MembershipEpoch(3 + Alpha, new Membership([1, 2])),
            history.Apply(3, Change(new(1 + Alpha, OneTwoThree), new Membership([1, 2]))));
    }

    [Fact]
    public void History_applies_only_the_next_slot()
    {
        var history = new MembershipHistory(OneTwoThree, Alpha);
        Assert.Throws<InvalidOperationException>(() => history.Apply(1, Cmd(1)));
    }

    [Fact]
    public void Reconfiguration_slot_values_compare_by_content_and_are_no_no_op()
    {
        var a = Change(First, ThreeFourFive);
        var b = Change(new(0, new Membership([3, 2, 1], [5, 4])), new Membership([5, 4, 3], [2, 1]));

        Assert.Equal(a, b);
        Assert.False(a.IsNoOp);
        Assert.NotEqual(a, Change(First, new Membership([3, 4])));
        Assert.NotEqual(a, Change(new(7, OneTwoThree), ThreeFourFive)); // the same sets, expected in another epoch
        Assert.NotEqual(a, SlotValue.Reconfigure(Reconfiguration.WithoutEpoch(OneTwoThree, ThreeFourFive)));
        Assert.NotEqual(a, SlotValue.NoOp);
    }

    [Fact] // §3: a value is chosen by a majority of the acceptors that govern its slot
    public void Learner_counts_only_the_acceptors_of_the_membership_that_governs_the_slot()
    {
        var learner = Agents.Started(new Learner(1, OneTwoThree, [1, 2, 3, 4, 5], new LearnerOptions { ReconfigurationAlpha = Alpha }), []);
        learner.StepEach(new Chosen(0, Change(First, ThreeFourFive)), new Chosen(1, Cmd(1)), new Chosen(2, Cmd(2)),
            new Chosen(3, Cmd(3)));
        long first = 0 + Alpha; // governed by {3, 4, 5}
        var b = new Ballot(1, 1);

        learner.StepEach(new Accept(b, first, Cmd(9)), new Accepted(b, first, 1), new Accepted(b, first, 2));
        Assert.Equal(first, learner.NextToApply); // 1 and 2 are no longer acceptors there

        var ready = learner.StepEach(new Accepted(b, first, 3), new Accepted(b, first, 4));
        Assert.Equal([new ChosenSlot(first, Cmd(9))], ready.Apply);
    }

    [Fact] // a vote is counted only once the membership of its slot is known
    public void Learner_holds_votes_for_a_slot_whose_membership_it_does_not_know_yet()
    {
        var learner = Agents.Started(new Learner(1, OneTwoThree, [1, 2, 3], new LearnerOptions { ReconfigurationAlpha = Alpha }), []);
        var b = new Ballot(1, 1);
        long far = Alpha; // slot 0 not applied: the membership of slot alpha depends on it

        var early = learner.StepEach(new Accept(b, far, Cmd(9)), new Accepted(b, far, 1), new Accepted(b, far, 2));
        Assert.DoesNotContain(early.Messages, m => m.Message is Chosen c && c.Slot == far);

        var ready = learner.StepEach(Enumerable.Range(0, Alpha).Select(s => (IInput)new Chosen(s, Cmd(s))));
        Assert.Contains(new ChosenSlot(far, Cmd(9)), ready.Apply);
    }

    [Fact]
    public void Learner_tells_its_proposer_the_memberships_after_applying_a_reconfiguration()
    {
        var learner = Agents.Started(new Learner(2, OneTwoThree, [1, 2, 3], new LearnerOptions { ReconfigurationAlpha = Alpha }), []);

        var ready = learner.Step(new Chosen(0, Change(First, ThreeFourFive)));

        var progress = Assert.Single(ready.Sent<LearnerProgress>());
        Assert.Equal(1, progress.NextToApply);
        Assert.Equal(new[] { new MembershipEpoch(0, OneTwoThree), new MembershipEpoch(Alpha, ThreeFourFive) }, progress.Configurations.ToArray());
        Assert.Contains(ready.Notices, n => n.Text.Contains("changes the configuration"));
    }

    /// <summary>A proposer whose learner applied slot 0 = change to {3,4,5}: slots below alpha keep {1,2,3}.</summary>
    private static Proposer ProposerAfterChange(out long effective)
    {
        var proposer = Agents.IdleProposer(1, new ProposerOptions { ReconfigurationAlpha = Alpha, ElectionTimeoutTicks = 1, BackoffJitter = 0 });
        effective = Alpha;
        proposer.Step(new LearnerProgress(1) { Configurations = [new(0, OneTwoThree), new(Alpha, ThreeFourFive)] });
        return proposer;
    }

    [Fact] // a ballot leads the slots it may propose in only with a majority of every membership that governs them
    public void Proposer_prepares_with_every_membership_in_its_window_and_needs_a_majority_of_each()
    {
        var proposer = ProposerAfterChange(out _);
        var prepares = proposer.Ticks(10).Messages.Where(m => m.Message is Prepare).ToList();
        Assert.Equal([1, 2, 3, 4, 5], prepares.Select(m => m.To.Node).Order());
        var ballot = proposer.Ballot;

        proposer.StepEach(new Promise(ballot, 1, 1, []), new Promise(ballot, 2, 1, []));
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase); // a majority of {1,2,3}, none of {3,4,5}
        proposer.Step(new Promise(ballot, 4, 1, []));
        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        proposer.Step(new Promise(ballot, 5, 1, []));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);
    }

    [Fact] // and it sends each Accept to the acceptors of its slot, never past the slots whose membership it knows
    public void Leader_sends_each_accept_to_its_slots_acceptors_and_stops_where_it_no_longer_knows_the_membership()
    {
        var proposer = ProposerAfterChange(out long effective);
        proposer.Ticks(10);
        var ballot = proposer.Ballot;
        proposer.StepEach(new Promise(ballot, 1, 1, []), new Promise(ballot, 2, 1, []), new Promise(ballot, 4, 1, []),
            new Promise(ballot, 5, 1, []));

        var ready = proposer.StepEach(Enumerable.Range(10, 2 * Alpha).Select(n => (IInput)new Propose(Cmd(n), 0)));
        foreach (var (slot, acceptors) in ready.Messages.Where(m => m.Message is Accept && m.To.Agent == Agent.Acceptor)
                     .GroupBy(m => ((Accept)m.Message).Slot).Select(g => (g.Key, g.Select(m => m.To.Node).Order().ToList())))
            Assert.Equal(slot < effective ? [1, 2, 3] : [3, 4, 5], acceptors);
        long highest = ready.Sent<Accept>(Agent.Acceptor).Max(a => a.Slot);
        Assert.True(highest < proposer.Configurations.KnownThrough, $"proposed in slot {highest}, beyond what it knows");
    }

    [Fact] // a membership that now governs a slot it may propose in, and that this ballot was not prepared with
    public void Leader_prepares_again_when_a_new_membership_enters_its_window()
    {
        var proposer = Agents.IdleProposer(1, new ProposerOptions { ReconfigurationAlpha = Alpha, ElectionTimeoutTicks = 1, BackoffJitter = 0 });
        proposer.Ticks(10);
        var first = proposer.Ballot;
        proposer.StepEach(new Promise(first, 1, 0, []), new Promise(first, 2, 0, []));
        Assert.Equal(ProposerPhase.Leading, proposer.Phase);

        var ready = proposer.Step(new LearnerProgress(1) { Configurations = [new(0, new Membership([1, 2, 3])), new(Alpha, ThreeFourFive)] });

        Assert.Equal(ProposerPhase.Preparing, proposer.Phase);
        Assert.True(proposer.Ballot > first);
        Assert.Contains(ready.Sent<Prepare>(Agent.Acceptor), p => p.Ballot == proposer.Ballot);
        Assert.Single(ready.Persist);
    }

    [Fact]
    public void Reconfiguration_is_proposed_alone_in_its_slot_before_queued_commands()
    {
        var proposer = Agents.IdleProposer(1, new ProposerOptions { ReconfigurationAlpha = Alpha, ElectionTimeoutTicks = 1, BackoffJitter = 0, Window = 4 });
        proposer.Ticks(10);
        var ballot = proposer.Ballot;
        proposer.StepEach(new Propose(Cmd(1), 0), new Propose(Change(new(0, new Membership([1, 2, 3])), ThreeFourFive), 0), new Propose(Cmd(2), 0));

        var ready = proposer.StepEach(new Promise(ballot, 1, 0, []), new Promise(ballot, 2, 0, []));

        var accepts = ready.Sent<Accept>(Agent.Learner).OrderBy(a => a.Slot).ToList();
        Assert.Equal(2, accepts.Count);
        Assert.NotNull(accepts[0].Value.Change);
        Assert.Empty(accepts[0].Value.Commands);
        Assert.Equal(SlotValue.Of(Bytes(1), Bytes(2)), accepts[1].Value);
    }

    [Theory] // a change whose epoch is gone can change nothing: the leader spends no slot on it, only with the option off
    [InlineData(true)]
    [InlineData(false)]
    public void Leader_drops_a_change_whose_expected_epoch_is_superseded_and_keeps_one_from_a_newer_view(bool drop)
    {
        var proposer = Agents.IdleProposer(1, new ProposerOptions
        {
            ReconfigurationAlpha = Alpha, ElectionTimeoutTicks = 1, BackoffJitter = 0, Window = 4, DropSupersededChanges = drop,
        });
        // Its learner applied slot 0, a change [1,2,3] -> [3,4,5]: the epoch from slot 0 is superseded by the one from alpha.
        proposer.Step(new LearnerProgress(1) { Configurations = [First, new(Alpha, ThreeFourFive)] });
        proposer.Ticks(10);
        var ballot = proposer.Ballot;
        var stale = Change(First, new Membership([1, 2, 3, 4]));
        var newer = Change(new(Alpha + 3, OneTwoThree), ThreeFourFive); // from a view ahead of this proposer's learner
        proposer.StepEach(new Propose(stale, 0), new Propose(Cmd(1), 0), new Propose(newer, 0));

        var ready = proposer.StepEach(new Promise(ballot, 1, 1, []), new Promise(ballot, 2, 1, []), new Promise(ballot, 4, 1, []),
            new Promise(ballot, 5, 1, []));

        var proposed = ready.Sent<Accept>(Agent.Learner).Select(a => a.Value).ToList();
        Assert.Contains(newer, proposed);
        Assert.Contains(SlotValue.Of(Bytes(1)), proposed);
        Assert.Equal(!drop, proposed.Contains(stale));
    }

    [Fact] // a removed acceptor votes no more where its vote would not count, and says so; where it still counts, it votes
    public void Removed_acceptor_votes_only_in_the_slots_whose_membership_still_counts_it()
    {
        var acceptor = Agents.VotingAcceptor(1);
        var known = acceptor.Step(new MembershipKnown([new(0, OneTwoThree), new(Alpha, ThreeFourFive)], AppliedThrough: 1));
        var b = new Ballot(2, 3);

        Assert.Equal(Alpha, acceptor.RemovedFrom);
        Assert.StartsWith("removed", acceptor.State);
        Assert.Contains(known.Notices, n => n.Level == NoticeLevel.Warning && n.Text.Contains("removed from the acceptor set"));
        Assert.Single(acceptor.Step(new Accept(b, Alpha - 1, Cmd(1))).Sent<Accepted>()); // still governed by {1,2,3}
        Assert.True(acceptor.Step(new Accept(b, Alpha, Cmd(2))).IsEmpty);                // governed by {3,4,5}

        acceptor.Step(new MembershipKnown([new(0, OneTwoThree), new(Alpha, ThreeFourFive), new(Alpha + 2, OneTwoThree)], 3));
        Assert.Null(acceptor.RemovedFrom);
        Assert.Equal("voting", acceptor.State);
        Assert.Single(acceptor.Step(new Accept(b, Alpha + 2, Cmd(3))).Sent<Accepted>());
    }
}
