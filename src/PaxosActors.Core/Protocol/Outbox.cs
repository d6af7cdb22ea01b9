namespace PaxosActors.Core.Protocol;

/// <summary>
/// "Persist before send", written once for every shell (the actors and the simulation alike): a message leaves only
/// when every event its agent produced up to the step that made it is durable, because the message may reveal any
/// of them (a Promise reveals the promise, a vote the value, a Prepare the round). Messages keep their order.
/// </summary>
/// <remarks>Invariant: <c>durable &lt;= written</c>, and every held message waits for an event not yet durable. A
/// crash loses the outbox with the events that were not durable, as it should: nothing those events would have
/// revealed has left.</remarks>
public sealed class Outbox
{
    private readonly Queue<(long After, Outgoing Message)> _held = new();
    private long _written;
    private long _durable;

    /// <summary>Events handed to the journal and not yet confirmed durable.</summary>
    public int Pending => (int)(_written - _durable);

    /// <summary>Messages waiting for those events.</summary>
    public int Held => _held.Count;

    /// <summary>Takes a step's <see cref="Ready"/> whose <see cref="Ready.Persist"/> events the shell is about to write,
    /// and returns the messages that may leave at once: all of them when nothing written is still pending, none
    /// otherwise (they leave from <see cref="Durable"/>).</summary>
    public IReadOnlyList<Outgoing> Admit(Ready ready)
    {
        _written += ready.Persist.Count;
        if (_written == _durable && _held.Count == 0) return ready.Messages;
        foreach (var m in ready.Messages) _held.Enqueue((_written, m));
        return [];
    }

    /// <summary>The journal confirmed the next <paramref name="count"/> events durable, in the order written; returns
    /// the messages that no longer wait for anything.</summary>
    public IReadOnlyList<Outgoing> Durable(int count = 1)
    {
        if (count < 0 || _durable + count > _written)
            throw new InvalidOperationException($"{count} more durable event(s), but only {_written - _durable} are pending");
        _durable += count;
        if (_held.Count == 0 || _held.Peek().After > _durable) return [];
        var free = new List<Outgoing>();
        while (_held.TryPeek(out var h) && h.After <= _durable) free.Add(_held.Dequeue().Message);
        return free;
    }
}
