using PaxosActors.Replication;

namespace PaxosActors.Coordination;

/// <summary>This node's client of the lease table: each call is one command through the log, answered once this node's
/// learner applied it (<see cref="CommandClient.SubmitAsync"/>: retried until applied, applied once).</summary>
public sealed class LeaseService(CommandClient commands, LeaseView view)
{
    /// <summary>The table as this node's learner last applied it (for reading without a round through the log).</summary>
    public LeaseView View => view;

    public Task<LeaseResult> AcquireAsync(string lease, string owner, TimeSpan ttl, CancellationToken ct = default) =>
        SubmitAsync(new LeaseCommand(LeaseCommand.Acquire, lease, owner, TtlMs: Ms(ttl)), ct);

    public Task<LeaseResult> RenewAsync(string lease, string owner, long token, TimeSpan ttl, CancellationToken ct = default) =>
        SubmitAsync(new LeaseCommand(LeaseCommand.Renew, lease, owner, token, Ms(ttl)), ct);

    /// <summary>Releases <paramref name="lease"/> if <paramref name="owner"/> holds it with <paramref name="token"/> at
    /// <paramref name="version"/> (the version of its last grant or renewal).</summary>
    public Task<LeaseResult> ReleaseAsync(string lease, string owner, long token, long version, CancellationToken ct = default) =>
        SubmitAsync(new LeaseCommand(LeaseCommand.Release, lease, owner, token, Version: version), ct);

    /// <summary>Frees <paramref name="lease"/> if it is still at <paramref name="version"/>.</summary>
    public Task<LeaseResult> ExpireAsync(string lease, long version, CancellationToken ct = default) =>
        SubmitAsync(new LeaseCommand(LeaseCommand.Expire, lease, Version: version), ct);

    /// <summary>The lease as of a point in the log after this call began (linearizable).</summary>
    public Task<LeaseResult> ReadAsync(string lease, CancellationToken ct = default) =>
        SubmitAsync(new LeaseCommand(LeaseCommand.Read, lease), ct);

    private async Task<LeaseResult> SubmitAsync(LeaseCommand command, CancellationToken ct)
    {
        var result = LeaseJson.Decode<LeaseResult>((await commands.SubmitAsync(LeaseRole.StateMachineName, LeaseJson.Encode(command), ct)).Span);
        return result.Error is { } error ? throw new ArgumentException(error) : result;
    }

    private static long Ms(TimeSpan t) => Math.Max(1, (long)t.TotalMilliseconds);
}
