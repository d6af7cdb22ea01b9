using PaxosActors.Core.Proposers;

namespace PaxosActors.Core.Tests.Proposers;

/// <summary>Randomised binary exponential backoff, the cure for dueling proposers (Paxos Made Simple §2.4:
/// progress needs a distinguished proposer; randomised delays are how one emerges).</summary>
public sealed class RetryBackoffTests
{
    [Fact]
    public void Delays_double_with_each_failure_up_to_the_cap()
    {
        var backoff = new RetryBackoff(baseTicks: 2, capTicks: 20, jitter: 0, new Random(1));

        var delays = Enumerable.Range(0, 7).Select(_ => backoff.NextDelay()).ToArray();

        Assert.Equal([2, 4, 8, 16, 20, 20, 20], delays);
        Assert.Equal(7, backoff.Failures);
    }

    [Fact]
    public void Delays_stay_capped_after_very_many_failures()
    {
        var backoff = new RetryBackoff(3, 100, 0, new Random(1));
        for (int i = 0; i < 200; i++) Assert.InRange(backoff.NextDelay(), 1, 100);
    }

    [Fact]
    public void Jittered_delays_vary_within_one_and_the_ceiling()
    {
        var backoff = new RetryBackoff(64, 64, jitter: 1.0, new Random(3));

        var delays = Enumerable.Range(0, 50).Select(_ => backoff.NextDelay()).ToArray();

        Assert.All(delays, d => Assert.InRange(d, 1, 64));
        Assert.True(delays.Distinct().Count() > 10, $"expected varied delays, got {string.Join(",", delays)}");
    }

    [Fact]
    public void Half_jitter_keeps_at_least_half_of_the_ceiling()
    {
        var backoff = new RetryBackoff(40, 40, jitter: 0.5, new Random(3));
        for (int i = 0; i < 50; i++) Assert.InRange(backoff.NextDelay(), 20, 40);
    }

    [Fact]
    public void The_same_seed_gives_the_same_delays()
    {
        int[] Run(int seed)
        {
            var b = new RetryBackoff(2, 64, 1.0, new Random(seed));
            return Enumerable.Range(0, 12).Select(_ => b.NextDelay()).ToArray();
        }

        Assert.Equal(Run(42), Run(42));
        Assert.NotEqual(Run(42), Run(43));
    }

    [Fact]
    public void Reset_starts_again_from_the_base_delay()
    {
        var backoff = new RetryBackoff(2, 64, 0, new Random(1));
        backoff.NextDelay();
        backoff.NextDelay();

        backoff.Reset();

        Assert.Equal(0, backoff.Failures);
        Assert.Equal(2, backoff.NextDelay());
    }

    [Fact]
    public void Zero_base_means_no_backoff_at_all()
    {
        var backoff = new RetryBackoff(0, 64, 1.0, new Random(1));
        Assert.Equal(0, backoff.NextDelay());
        Assert.Equal(0, backoff.NextDelay());
        Assert.Equal(2, backoff.Failures);
    }
}
