namespace PaxosActors.Core.Proposers;

/// <summary>
/// Randomised binary exponential backoff, the cure for dueling proposers (seed 001): after the
/// k-th consecutive failure wait a random part of min(cap, base * 2^k) ticks, so two proposers
/// that keep preempting each other soon stop colliding.
/// </summary>
public sealed class RetryBackoff(int baseTicks, int capTicks, double jitter, Random random)
{
    private int _failures;

    public int Failures => _failures;

    /// <summary>Every retry this backoff has timed, since it was made (for metrics; never reset).</summary>
    public long Retries { get; private set; }

    /// <summary>Ticks to wait before the next attempt; each call counts one more failure.</summary>
    public int NextDelay()
    {
        Retries++;
        if (baseTicks <= 0) { _failures++; return 0; }
        long ceiling = Math.Min((long)capTicks, (long)baseTicks << Math.Min(_failures, 30));
        _failures++;
        double fixedPart = ceiling * (1 - jitter);
        return (int)Math.Max(1, Math.Round(fixedPart + random.NextDouble() * ceiling * jitter));
    }

    public void Reset() => _failures = 0;
}
