namespace PaxosActors.Replication;

/// <summary>Where a command stands in its client session.</summary>
public enum SessionCheck
{
    /// <summary>Not applied before: apply it, then <see cref="ClientSession{TResult}.Store"/> its result.</summary>
    New,
    /// <summary>A retry of a command already applied: answer it with the stored result, do not apply it again.</summary>
    Duplicate,
    /// <summary>Below the session's acknowledgement floor: its client promised never to wait for it; drop it.</summary>
    Stale,
}

/// <summary>
/// The bookkeeping that makes client commands exactly-once in a replicated state machine: per client session, the
/// results of applied sequence numbers until the client acknowledges them, and the floor below which it never retries.
/// A session unheard of for <see cref="ExpirySlots"/> slots is forgotten. Every decision depends only on the slots
/// applied, so replicas fed the same log agree. Used by the node's composite state machine for every command submitted
/// through <see cref="CommandClient"/>, and by the KV store for its own sessions. Not thread-safe: the learner's thread.
/// </summary>
public sealed class SessionTable<TResult>(long expirySlots)
{
    private readonly Dictionary<ulong, ClientSession<TResult>> _sessions = new();
    // Least recently seen first. A session is touched only by the slot being applied, so this is also ordered by
    // LastSeenSlot and expiry only ever looks at the front.
    private readonly LinkedList<ClientSession<TResult>> _byLastSeen = new();

    /// <summary>Slots a silent session survives. Must be the same on every replica.</summary>
    public long ExpirySlots { get; } = expirySlots >= 1 ? expirySlots : throw new ArgumentOutOfRangeException(nameof(expirySlots), expirySlots, "must be at least 1");

    public int Count => _sessions.Count;

    /// <summary>The session <paramref name="id"/> (created if new), marked as seen in <paramref name="slot"/>.</summary>
    public ClientSession<TResult> Touch(ulong id, long slot)
    {
        if (!_sessions.TryGetValue(id, out var session))
        {
            session = new ClientSession<TResult>(id);
            _sessions.Add(id, session);
        }
        else
        {
            _byLastSeen.Remove(session.ExpiryNode!);
        }
        session.LastSeenSlot = slot;
        session.ExpiryNode = _byLastSeen.AddLast(session);
        return session;
    }

    /// <summary>Forgets the sessions not seen for <see cref="ExpirySlots"/> slots, as of <paramref name="slot"/>.</summary>
    public void Expire(long slot)
    {
        while (_byLastSeen.First is { } oldest && slot - oldest.Value.LastSeenSlot >= ExpirySlots)
        {
            _byLastSeen.RemoveFirst();
            _sessions.Remove(oldest.Value.Id);
        }
    }

    /// <summary>Every session, by ascending id (for a deterministic snapshot).</summary>
    public IReadOnlyList<ClientSession<TResult>> Sessions()
    {
        var all = _sessions.Values.ToList();
        all.Sort((a, b) => a.Id.CompareTo(b.Id));
        return all;
    }

    /// <summary>Adds a session read back from a snapshot; <see cref="Rebuilt"/> once all are added.</summary>
    /// <exception cref="FormatException">The session is already there.</exception>
    public void Add(ClientSession<TResult> session)
    {
        if (!_sessions.TryAdd(session.Id, session)) throw new FormatException($"session {session.Id} appears twice");
    }

    /// <summary>After <see cref="Add"/>: rebuilds the expiry order. Sessions last seen in one slot expire together, so
    /// ties need no order.</summary>
    public void Rebuilt()
    {
        _byLastSeen.Clear();
        var all = _sessions.Values.ToList();
        all.Sort((a, b) => a.LastSeenSlot != b.LastSeenSlot ? a.LastSeenSlot.CompareTo(b.LastSeenSlot) : a.Id.CompareTo(b.Id));
        foreach (var session in all) session.ExpiryNode = _byLastSeen.AddLast(session);
    }
}

/// <summary>What a replicated state machine remembers about one client to apply its commands exactly once.</summary>
public sealed class ClientSession<TResult>
{
    private readonly Dictionary<long, TResult> _results = new();

    public ClientSession(ulong id) => Id = id;

    public ulong Id { get; }

    /// <summary>The client will never retry a seq below this. Only grows. Invariant: every stored seq is >= it.</summary>
    public long AckedBelow { get; set; } = long.MinValue;

    /// <summary>The last slot that carried a command of this client; expiry counts from here.</summary>
    public long LastSeenSlot { get; set; }

    /// <summary>This session's place in the least-recently-seen order.</summary>
    internal LinkedListNode<ClientSession<TResult>>? ExpiryNode { get; set; }

    public int ResultCount => _results.Count;

    /// <summary>Whether <paramref name="seq"/> is new, a duplicate (<paramref name="stored"/> is its result) or stale.</summary>
    public SessionCheck Check(long seq, out TResult? stored)
    {
        stored = default;
        if (seq < AckedBelow) return SessionCheck.Stale;
        return _results.TryGetValue(seq, out stored) ? SessionCheck.Duplicate : SessionCheck.New;
    }

    /// <summary>Remembers the result of <paramref name="seq"/>, returned again to a retry until acknowledged.</summary>
    public void Store(long seq, TResult result) => _results[seq] = result;

    /// <summary>Raises <see cref="AckedBelow"/> and forgets the results it now covers.</summary>
    public void Acknowledge(long ackedBelow)
    {
        if (ackedBelow <= AckedBelow) return;
        AckedBelow = ackedBelow;
        if (_results.Count == 0) return;
        List<long>? forgotten = null;
        foreach (long seq in _results.Keys)
            if (seq < ackedBelow) (forgotten ??= new()).Add(seq);
        if (forgotten is null) return;
        foreach (long seq in forgotten) _results.Remove(seq);
    }

    /// <summary>The stored results by ascending seq (for a deterministic snapshot).</summary>
    public IReadOnlyList<KeyValuePair<long, TResult>> Results()
    {
        var all = _results.ToList();
        all.Sort((a, b) => a.Key.CompareTo(b.Key));
        return all;
    }
}
