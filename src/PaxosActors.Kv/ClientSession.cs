namespace PaxosActors.Kv;

/// <summary>What the state machine remembers about one client to apply its commands exactly once.</summary>
internal sealed class ClientSession
{
    public ClientSession(ulong clientId) => ClientId = clientId;

    public ulong ClientId { get; }

    /// <summary>The client will never retry a seq below this. Only grows. Invariant: every key of <see cref="Results"/> is >= it.</summary>
    public long AckedBelow { get; set; } = long.MinValue;

    /// <summary>The last slot that carried a command of this client; expiry counts from here.</summary>
    public long LastSeenSlot { get; set; }

    /// <summary>Results of applied seqs not yet acknowledged, returned again to a retry.</summary>
    public Dictionary<long, KvResult> Results { get; } = new();

    /// <summary>This session's place in the least-recently-seen order, so expiry never scans every session.</summary>
    public LinkedListNode<ClientSession>? ExpiryNode { get; set; }

    /// <summary>Raises <see cref="AckedBelow"/> and forgets the results it now covers.</summary>
    public void Acknowledge(long ackedBelow)
    {
        if (ackedBelow <= AckedBelow) return;
        AckedBelow = ackedBelow;
        if (Results.Count == 0) return;
        List<long>? forgotten = null;
        foreach (long seq in Results.Keys)
            if (seq < ackedBelow) (forgotten ??= new()).Add(seq);
        if (forgotten is null) return;
        foreach (long seq in forgotten) Results.Remove(seq);
    }
}
