namespace PaxosActors.Coordination;

/// <summary>
/// What a holder may believe of its lease, pure: it holds it until <paramref name="believedTicks"/> after it sent the
/// last grant or renewal that succeeded (any monotonic unit). Since every other node starts counting a version's time
/// to live only once it applied it, which is after it was sent, the holder stops believing before anyone may expire
/// it, as long as clocks advance at rates within the drift that <paramref name="believedTicks"/> leaves for.
/// </summary>
public sealed class LeaseBelief(long believedTicks)
{
    /// <summary>The token, the version of the last successful grant or renewal and when it was sent; null: not held.</summary>
    public (long Token, long Version, long GrantedInSlot, long SentAt)? Current { get; private set; }

    public bool Holds(long now) => Current is { } c && now - c.SentAt < believedTicks;

    /// <summary>A grant (or a reentrant acquire) sent at <paramref name="sentAt"/> succeeded with <paramref name="token"/>.</summary>
    public void Granted(long token, long version, long grantedInSlot, long sentAt)
    {
        if (Current is { } c && c.Token == token) Renewed(token, version, sentAt);
        else Current = (token, version, grantedInSlot, sentAt);
    }

    /// <summary>A renewal of <paramref name="token"/> sent at <paramref name="sentAt"/> succeeded, giving <paramref name="version"/>.</summary>
    public void Renewed(long token, long version, long sentAt)
    {
        if (Current is { } c && c.Token == token)
            Current = c with { Version = Math.Max(c.Version, version), SentAt = Math.Max(c.SentAt, sentAt) };
    }

    public void Forget() => Current = null;
}
