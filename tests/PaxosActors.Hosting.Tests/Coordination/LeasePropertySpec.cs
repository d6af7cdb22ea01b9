using PaxosActors.Coordination;

namespace PaxosActors.Hosting.Tests.Coordination;

/// <summary>
/// The lease's safety as a property over many simulated runs under pauses, kills and partitions
/// (<see cref="LeaseSimulation"/>): never two believing holders, never a holder the log does not name, tokens only
/// grow. The negative control breaks the one clock assumption the lease keeps and expects the check to catch it.
/// </summary>
public sealed class LeasePropertySpec(ITestOutputHelper output)
{
    private const int Seeds = 40;
    private const long SimulatedMs = 60_000;

    [Fact]
    public void No_two_owners_ever_hold_the_lease_at_once_and_tokens_only_grow_under_pauses_kills_and_partitions()
    {
        int grants = 0, renewals = 0, expiries = 0, releases = 0, pauses = 0, kills = 0, partitions = 0;
        long maxToken = 0;
        for (int seed = 1; seed <= Seeds; seed++)
        {
            // Clock rates 0.95..1.05: no clock runs more than 1/(1 - 0.1) = 1.11 times as fast as another.
            var sim = new LeaseSimulation(seed, minRate: 0.95, maxRate: 1.05, maxClockDrift: 0.1);
            sim.Run(SimulatedMs);
            Assert.True(sim.Violations.Count == 0, $"seed {seed} (replay: new LeaseSimulation({seed}, 0.95, 1.05)): {string.Join("; ", sim.Violations)}; the log's last commands: {sim.History}");
            grants += sim.Grants; renewals += sim.Renewals; expiries += sim.Expiries; releases += sim.Releases;
            pauses += sim.Pauses; kills += sim.Kills; partitions += sim.Partitions;
            maxToken = Math.Max(maxToken, sim.MaxToken);
            Assert.True(sim.Grants > 5 && sim.Expiries > 0 && sim.Pauses + sim.Kills + sim.Partitions > 10,
                $"seed {seed} exercised too little: {sim.Grants} grants, {sim.Expiries} expiries, {sim.Pauses + sim.Kills + sim.Partitions} faults");
        }
        output.WriteLine($"{Seeds} runs x {SimulatedMs / 1000} s simulated, 3 nodes: {grants} acquisitions (largest token in a run {maxToken}), " +
                         $"{renewals} renewals, {expiries} expiries through the log, {releases} releases; faults: {pauses} pauses, {kills} kills, {partitions} partitions; 0 violations");
    }

    [Fact]
    public void With_clocks_drifting_beyond_the_bound_the_check_finds_two_holders()
    {
        // Negative control: rates 0.7..1.3 (one clock up to 1.86 times as fast as another) break the assumption.
        int caught = 0;
        for (int seed = 1; seed <= Seeds && caught == 0; seed++)
        {
            var sim = new LeaseSimulation(seed, minRate: 0.7, maxRate: 1.3, maxClockDrift: 0.1);
            sim.Run(SimulatedMs);
            if (sim.Violations.Count > 0)
            {
                caught++;
                output.WriteLine($"seed {seed}: {sim.Violations[0]}");
            }
        }
        Assert.True(caught > 0, "clocks far outside the bound, and yet the check never saw two holders: it cannot fail");
    }
}
