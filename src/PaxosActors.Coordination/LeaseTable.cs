using System.Collections.Immutable;
using System.Text.Json;
using PaxosActors.Replication;

namespace PaxosActors.Coordination;

/// <summary>
/// The replicated lease table. Every grant of a free lease takes the next fencing token, one more than any token the
/// table ever gave (so tokens only grow, across all leases), and every grant or renewal the next version. No clock:
/// a lease ends only by a release from its holder or an <c>expire</c> command for its current version, proposed by a
/// node that counted the time to live on its own monotonic clock from when it learned of that version
/// (<see cref="LeaseExpiry"/>). A renewal ordered before the expiry wins; one ordered after finds the lease gone.
/// </summary>
public sealed class LeaseTable(LeaseView view) : IReplicatedStateMachine
{
    private readonly SortedDictionary<string, Held> _leases = new(StringComparer.Ordinal);
    private long _lastToken;
    private long _lastVersion;

    public CommandResult Apply(ReplicatedCommand command)
    {
        LeaseCommand c;
        try
        {
            c = LeaseJson.Decode<LeaseCommand>(command.Payload.Span);
        }
        catch (JsonException e)
        {
            return LeaseJson.Encode(new LeaseResult(false, "", null, null, null, null, null, $"malformed lease command: {e.Message}"));
        }
        var result = Execute(c, command.Slot);
        Publish();
        return LeaseJson.Encode(result);
    }

    private LeaseResult Execute(LeaseCommand c, long slot)
    {
        if (string.IsNullOrEmpty(c.Lease)) return Refused(c, "a lease command needs a lease name");
        _leases.TryGetValue(c.Lease, out var held);
        switch (c.Op)
        {
            case LeaseCommand.Acquire when c.Owner is { Length: > 0 } owner && c.TtlMs is > 0 and var ttl:
                if (held is null)
                {
                    held = new Held(owner, ++_lastToken, ++_lastVersion, ttl, slot);
                    _leases[c.Lease] = held;
                    return State(true, c.Lease, held);
                }
                if (held.Owner != owner) return State(false, c.Lease, held);
                return Renewed(c.Lease, held, ttl); // reentrant: the holder keeps its token
            case LeaseCommand.Renew when c.Owner is { Length: > 0 } && c.Token is not null && c.TtlMs is > 0 and var ttl:
                return held is not null && held.Owner == c.Owner && held.Token == c.Token
                    ? Renewed(c.Lease, held, ttl)
                    : State(false, c.Lease, held);
            case LeaseCommand.Release when c.Owner is { Length: > 0 } && c.Token is not null && c.Version is not null:
                // Only the version the releaser last saw: a release overtaken by the same owner's next acquire (or a
                // renewal) must not free the lease under it. A refused release leaves the lease to expire.
                if (held is null || held.Owner != c.Owner || held.Token != c.Token || held.Version != c.Version) return State(false, c.Lease, held);
                _leases.Remove(c.Lease);
                return State(true, c.Lease, null);
            case LeaseCommand.Expire when c.Version is not null:
                if (held is null || held.Version != c.Version) return State(false, c.Lease, held);
                _leases.Remove(c.Lease);
                return State(true, c.Lease, null);
            case LeaseCommand.Read:
                return State(true, c.Lease, held);
            default:
                return Refused(c, $"'{c.Op}' with these fields is not a lease command");
        }
    }

    private LeaseResult Renewed(string name, Held held, long ttl)
    {
        var renewed = held with { Version = ++_lastVersion, TtlMs = ttl };
        _leases[name] = renewed;
        return State(true, name, renewed);
    }

    private static LeaseResult Refused(LeaseCommand c, string why) => new(false, c.Lease ?? "", null, null, null, null, null, why);

    private static LeaseResult State(bool ok, string name, Held? held) =>
        new(ok, name, held?.Owner, held?.Token, held?.Version, held?.TtlMs, held?.GrantedInSlot);

    private void Publish() => view.Publish(_leases.ToImmutableSortedDictionary(StringComparer.Ordinal), _lastToken);

    public byte[] TakeSnapshot() => LeaseJson.Encode(new Snapshot(_lastToken, _lastVersion, _leases));

    public void RestoreSnapshot(ReadOnlySpan<byte> state)
    {
        Snapshot snapshot;
        try
        {
            snapshot = LeaseJson.Decode<Snapshot>(state);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not a lease table snapshot: {e.Message}", e);
        }
        _leases.Clear();
        foreach (var (name, held) in snapshot.Leases) _leases[name] = held;
        _lastToken = snapshot.LastToken;
        _lastVersion = snapshot.LastVersion;
        Publish();
    }

    /// <summary>A held lease. Invariant: <see cref="Token"/> and <see cref="Version"/> are at most the table's last ones.</summary>
    public sealed record Held(string Owner, long Token, long Version, long TtlMs, long GrantedInSlot);

    private sealed record Snapshot(long LastToken, long LastVersion, SortedDictionary<string, Held> Leases);
}

/// <summary>What other threads read of the lease table: the held leases and the last token given, as of the last
/// command this node's learner applied.</summary>
public sealed class LeaseView
{
    private volatile Summary _current = new(ImmutableSortedDictionary<string, LeaseTable.Held>.Empty, 0);

    public Summary Current => _current;

    internal void Publish(ImmutableSortedDictionary<string, LeaseTable.Held> leases, long lastToken) => _current = new Summary(leases, lastToken);

    public sealed record Summary(ImmutableSortedDictionary<string, LeaseTable.Held> Leases, long LastToken);
}
