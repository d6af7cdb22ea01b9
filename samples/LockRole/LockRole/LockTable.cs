using System.Text.Json;
using PaxosActors.Replication;

namespace Samples.Locks;

/// <summary>
/// The replicated lock table: named leases with an owner, a fencing token and an expiry. Every acquisition of a free (or
/// expired) lock takes the next token, one more than any token this table ever gave, so a resource guarded by the
/// tokens can refuse a holder that lost its lease. The holder renews by acquiring again (same token, later expiry) and
/// releases with its token. Deterministic, as a replicated state machine must be: time is the log's own clock, the
/// latest <see cref="LockCommand.AtMs"/> any command carried, never the applying node's.
/// </summary>
/// <remarks>Expiry trusts the proposing nodes' clocks to be roughly in step: a node whose clock runs ahead makes leases
/// expire early for everyone. A production lock service would bound that skew (or count expiry in leader terms).</remarks>
public sealed class LockTable(LockView view) : IReplicatedStateMachine
{
    private readonly SortedDictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private long _lastToken;
    private long _clockMs;

    public CommandResult Apply(ReplicatedCommand command)
    {
        LockCommand c;
        try
        {
            c = LockJson.Decode<LockCommand>(command.Payload.Span);
        }
        catch (JsonException e)
        {
            // Chosen is chosen: every replica answers the same refusal, and the submitter hears why.
            return LockJson.Encode(new LockResult(false, "", null, null, null, $"malformed lock command: {e.Message}"));
        }
        var result = Execute(c);
        view.Publish(_leases.Count, _lastToken);
        return LockJson.Encode(result);
    }

    private LockResult Execute(LockCommand c)
    {
        bool valid = !string.IsNullOrEmpty(c.Lock) && c.Op switch
        {
            LockCommand.Acquire => c.Owner is { Length: > 0 } && c.TtlMs is > 0,
            LockCommand.Release => c.Owner is { Length: > 0 } && c.Token is not null,
            LockCommand.Read => true,
            _ => false,
        };
        // A refused command changes nothing, not even the clock.
        if (!valid) return new LockResult(false, c.Lock ?? "", null, null, null, $"'{c.Op}' with these fields is not a lock command");
        _clockMs = Math.Max(_clockMs, c.AtMs);
        if (_leases.TryGetValue(c.Lock, out var held) && held.ExpiresAtMs <= _clockMs)
        {
            _leases.Remove(c.Lock);
            held = null;
        }
        switch (c.Op)
        {
            case LockCommand.Acquire when c.Owner is { } owner && c.TtlMs is { } ttl:
                if (held is null)
                {
                    held = new Lease(owner, ++_lastToken, _clockMs + ttl);
                    _leases[c.Lock] = held;
                    return State(true, c.Lock, held);
                }
                if (held.Owner != owner) return State(false, c.Lock, held);
                held = held with { ExpiresAtMs = Math.Max(held.ExpiresAtMs, _clockMs + ttl) }; // a renewal keeps its token
                _leases[c.Lock] = held;
                return State(true, c.Lock, held);
            case LockCommand.Release:
                if (held is null || held.Owner != c.Owner || held.Token != c.Token) return State(false, c.Lock, held);
                _leases.Remove(c.Lock);
                return State(true, c.Lock, null);
            default: // read
                return State(true, c.Lock, held);
        }
    }

    private static LockResult State(bool ok, string name, Lease? lease) =>
        new(ok, name, lease?.Owner, lease?.Token, lease?.ExpiresAtMs);

    public byte[] TakeSnapshot() => LockJson.Encode(new Snapshot(_lastToken, _clockMs, _leases));

    public void RestoreSnapshot(ReadOnlySpan<byte> state)
    {
        var snapshot = LockJson.Decode<Snapshot>(state);
        _leases.Clear();
        foreach (var (name, lease) in snapshot.Leases) _leases[name] = lease;
        _lastToken = snapshot.LastToken;
        _clockMs = snapshot.ClockMs;
        view.Publish(_leases.Count, _lastToken);
    }

    /// <summary>Who holds a lock, with which token, until when (the log's clock, ms since the epoch).</summary>
    public sealed record Lease(string Owner, long Token, long ExpiresAtMs);

    private sealed record Snapshot(long LastToken, long ClockMs, SortedDictionary<string, Lease> Leases);
}

/// <summary>What other threads read of the lock table: how many leases it holds and the last token it gave.</summary>
public sealed class LockView
{
    private volatile Summary _summary = new(0, 0);

    public Summary Current => _summary;

    internal void Publish(int held, long lastToken) => _summary = new Summary(held, lastToken);

    public sealed record Summary(int Held, long LastToken);
}
