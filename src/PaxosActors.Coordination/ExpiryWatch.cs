namespace PaxosActors.Coordination;

/// <summary>
/// The decision of <see cref="LeaseExpiry"/>, pure: which held lease versions have outlived their time to live as this
/// node counts it, from the first time it saw each version. Time is an input (any monotonic unit; the time to live is
/// converted with <paramref name="ticksPerMs"/>), so a simulation can run it with drifting clocks.
/// </summary>
public sealed class ExpiryWatch(double ticksPerMs)
{
    private readonly Dictionary<(string Lease, long Version), long> _firstSeen = new();
    private readonly HashSet<(string Lease, long Version)> _proposing = new();

    /// <summary>The versions to propose the expiry of now, given the table as this node last applied it. A version is
    /// returned once until <see cref="Done"/> says its proposal ended.</summary>
    public IReadOnlyList<(string Lease, long Version)> Due(IReadOnlyDictionary<string, LeaseTable.Held> held, long now)
    {
        foreach (var key in _firstSeen.Keys.Where(k => !held.TryGetValue(k.Lease, out var h) || h.Version != k.Version).ToList())
            _firstSeen.Remove(key);
        var due = new List<(string, long)>();
        foreach (var (name, lease) in held)
        {
            var key = (name, lease.Version);
            if (!_firstSeen.TryGetValue(key, out long since))
            {
                _firstSeen[key] = now; // Invariant: since >= the moment the holder sent the grant or renewal of this version
                continue;
            }
            if (now - since >= lease.TtlMs * ticksPerMs && _proposing.Add(key)) due.Add(key);
        }
        return due;
    }

    /// <summary>The expiry proposal of <paramref name="key"/> was applied or gave up: it may be proposed again if still due.</summary>
    public void Done((string Lease, long Version) key) => _proposing.Remove(key);
}
