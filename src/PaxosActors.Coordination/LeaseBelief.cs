namespace PaxosActors.Coordination;

/// <summary>
/// What a holder may believe of its lease, pure: it holds it until <paramref name="believedTicks"/> after it sent the
/// last grant or renewal that succeeded (any monotonic unit). Since every other node starts counting a version's time
/// to live only once it applied it, which is after it was sent, the holder stops believing before anyone may expire
/// it, as long as clocks advance at rates within the drift that <paramref name="believedTicks"/> leaves for.
/// </summary>
public sealed class LeaseBelief(long believedTicks)
{
    /// <summary>The token and the send time of the last successful grant or renewal; null: not held.</summary>
    public (long Token, long GrantedInSlot, long SentAt)? Current { get; private set; }

    public bool Holds(long now) => Current is { } c && now - c.SentAt < believedTicks;

    /// <summary>A grant (or a reentrant acquire) sent at <paramref name="sentAt"/> succeeded with <paramref name="token"/>.</summary>
    public void Granted(long token, long grantedInSlot, long sentAt)
    {
        if (Current is { } c && c.Token == token) Current = c with { SentAt = Math.Max(c.SentAt, sentAt) };
        else Current = (token, grantedInSlot, sentAt);
    }

    /// <summary>A renewal of <paramref name="token"/> sent at <paramref name="sentAt"/> succeeded.</summary>
    public void Renewed(long token, long sentAt)
    {
        if (Current is { } c && c.Token == token) Current = c with { SentAt = Math.Max(c.SentAt, sentAt) };
    }

    public void Forget() => Current = null;
}
