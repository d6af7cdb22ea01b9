using PaxosActors.Core.Proposers;
using Xunit.Abstractions;

namespace PaxosActors.Core.Tests.Simulation;

/// <summary>
/// Paxos Made Simple §2.4 ("Progress"): two proposers that keep issuing higher-numbered proposals can
/// both fail forever. Seed 001 is that livelock; randomised exponential backoff is the cure. A measured
/// contrast on the simulated cluster (no loss, no crashes, a fixed delay), not a timed test: a round is
/// one Phase 1 attempt.
/// </summary>
public sealed class DuelingProposersTests(ITestOutputHelper output)
{
    private const int Seeds = 500;
    private const int StepBound = 1500;
    private const int Delay = 3;

    // Proposer 2 gets its command this many steps after proposer 1. With a delay of 3 its Prepare reaches
    // the acceptors after proposer 1's Prepare but before proposer 1's Accept, and a proposer that retries
    // at once on a Nack lands its new Prepare just before the other's Accept again: every Accept is
    // preempted (found by sweeping the offsets 0..5; only this one duels forever without backoff).
    private const int DuelingOffset = 4;

    private static SimulationConfig Duel(int backoffBaseTicks) => new()
    {
        Nodes = 3,
        MultiPaxos = false,
        Commands = 2,
        ProposerJournalsStartEmpty = false, // the proposers have discovered their rounds already: the timing is the duel's
        MinDelay = Delay,
        MaxDelay = Delay,
        Proposer = new ProposerOptions
        {
            MultiPaxos = false,
            PhaseTimeoutTicks = 4 * Delay,
            BackoffBaseTicks = backoffBaseTicks,
            BackoffCapTicks = 64,
            BackoffJitter = 1.0,
        },
    };

    private readonly record struct DuelResult(bool Finished, bool AnythingChosen, int Steps, int Rounds, int Nacks);

    /// <summary>Proposers 1 and 2 each get a command; runs until both are applied on every learner or the step bound.</summary>
    private static DuelResult RunDuel(int seed, SimulationConfig config, int offset)
    {
        var cluster = new SimulatedCluster(seed, config);
        cluster.Heal(); // nothing lost, nothing crashed: only the two proposers against each other
        cluster.Submit(1, node: 1);
        int step = 0;
        for (; step < StepBound; step++)
        {
            if (step == offset) cluster.Submit(2, node: 2);
            if (step > offset && cluster.AllAppliedEverywhere()) break;
            cluster.Step();
        }
        bool chosen = Enumerable.Range(1, 3).Any(n => cluster.LearnerOf(n).HighestDecided >= 0);
        return new DuelResult(step < StepBound, chosen, step, cluster.Rounds, cluster.Nacks);
    }

    private void Report(string name, IReadOnlyList<DuelResult> runs)
    {
        var done = runs.Where(r => r.Finished).ToList();
        output.WriteLine(
            $"{name}: {done.Count}/{runs.Count} runs applied both commands within {StepBound} steps, " +
            $"{runs.Count(r => r.AnythingChosen)} chose anything; rounds mean {runs.Average(r => r.Rounds):F1}, max {runs.Max(r => r.Rounds)}; " +
            $"nacks mean {runs.Average(r => r.Nacks):F1}" +
            (done.Count > 0 ? $"; steps to finish mean {done.Average(r => r.Steps):F1}, max {done.Max(r => r.Steps)}" : ""));
    }

    [Fact] // §2.4: "a distinguished proposer must be selected"; randomised backoff lets one emerge
    public void Dueling_proposers_with_backoff_choose_in_few_rounds_and_without_backoff_preempt_each_other_until_the_step_bound()
    {
        var withBackoff = Enumerable.Range(0, Seeds).Select(s => RunDuel(s, Duel(backoffBaseTicks: 2), DuelingOffset)).ToList();
        // Without backoff the only randomness left is unused (Basic Paxos has no election timer): a few seeds suffice.
        var without = Enumerable.Range(0, 20).Select(s => RunDuel(s, Duel(backoffBaseTicks: 0), DuelingOffset)).ToList();
        Report("backoff base 2 ticks", withBackoff);
        Report("no backoff          ", without);

        const int boundedRounds = 60;
        Assert.All(withBackoff, r => Assert.True(r.Finished, $"with backoff a duel did not finish in {StepBound} steps: {r}"));
        Assert.True(withBackoff.Max(r => r.Rounds) <= boundedRounds,
            $"with backoff a duel took {withBackoff.Max(r => r.Rounds)} rounds, more than {boundedRounds}");
        Assert.All(without, r => Assert.False(r.AnythingChosen, $"without backoff the duel chose a value: {r}"));
        Assert.True(without.Min(r => r.Rounds) >= 5 * boundedRounds,
            $"without backoff only {without.Min(r => r.Rounds)} rounds in {StepBound} steps");
    }

    [Fact]
    public void Dueling_proposers_with_backoff_finish_whatever_the_offset_between_them()
    {
        var runs = Enumerable.Range(0, Seeds).Select(s => RunDuel(s, Duel(backoffBaseTicks: 2), offset: s % (2 * Delay))).ToList();
        Report("backoff, offsets 0..5", runs);
        Assert.All(runs, r => Assert.True(r.Finished, $"a duel did not finish in {StepBound} steps: {r}"));
    }
}
