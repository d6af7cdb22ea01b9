using PaxosActors.Replication;

namespace Samples.Locks;

/// <summary>
/// This node's client of the lock table: each call is one command submitted through the log
/// (<see cref="CommandClient.SubmitAsync"/>: this node's session, retried until applied, applied once), answered with
/// what the table did once this node's learner applied it. Reads go through the log too, so they are linearizable.
/// </summary>
public sealed class LockService(CommandClient commands, LockSettings settings)
{
    /// <summary>The longest lock name and owner, in characters.</summary>
    public const int MaxNameLength = 256;

    public LockSettings Settings => settings;

    /// <summary>Acquires <paramref name="name"/> for <paramref name="owner"/> for <paramref name="ttl"/> (default
    /// <c>paxos.locks.default-ttl</c>), or renews it if the owner holds it; otherwise answers who holds it.</summary>
    /// <exception cref="ArgumentException">A name, owner or ttl out of bounds.</exception>
    /// <exception cref="CommandTimeoutException">No quorum applied it in time; it may still take effect.</exception>
    public Task<LockResult> AcquireAsync(string name, string owner, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        var lease = ttl ?? settings.DefaultTtl;
        if (lease <= TimeSpan.Zero || lease > settings.MaxTtl)
            throw new ArgumentException($"a lease of {lease.TotalMilliseconds} ms is outside 1 ms..{settings.MaxTtl.TotalMilliseconds} ms (paxos.locks.max-ttl)");
        return SubmitAsync(new LockCommand(LockCommand.Acquire, Checked(name, "lock name"), Checked(owner, "owner"), null,
            (long)lease.TotalMilliseconds, Now()), ct);
    }

    /// <summary>Releases <paramref name="name"/> if <paramref name="owner"/> holds it with <paramref name="token"/>.</summary>
    public Task<LockResult> ReleaseAsync(string name, string owner, long token, CancellationToken ct = default) =>
        SubmitAsync(new LockCommand(LockCommand.Release, Checked(name, "lock name"), Checked(owner, "owner"), token, null, Now()), ct);

    /// <summary>Who holds <paramref name="name"/>, as of a point in the log after this call began (linearizable).</summary>
    public Task<LockResult> ReadAsync(string name, CancellationToken ct = default) =>
        SubmitAsync(new LockCommand(LockCommand.Read, Checked(name, "lock name"), null, null, null, Now()), ct);

    private async Task<LockResult> SubmitAsync(LockCommand command, CancellationToken ct)
    {
        var result = LockJson.Decode<LockResult>((await commands.SubmitAsync(LockRole.StateMachineName, LockJson.Encode(command), ct)).Span);
        return result.Error is { } error ? throw new ArgumentException(error) : result;
    }

    private static string Checked(string value, string what) =>
        string.IsNullOrEmpty(value) || value.Length > MaxNameLength
            ? throw new ArgumentException($"the {what} must be 1 to {MaxNameLength} characters")
            : value;

    private static long Now() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
