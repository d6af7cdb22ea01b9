namespace PaxosActors.Tools.Chaos;

/// <summary>
/// What the chaos harness knows of the acceptor set, and whether what the nodes say is explained by it. The harness is the
/// only client of <c>/admin/members</c>, so every membership in force must follow from its own changes: the ones the API
/// confirmed (200 with the set asked for), and the ones whose outcome it does not know (a 503 after proposing, no answer),
/// each of which may take effect once, now or later. A node computes a change from the set it sees in force (behind the
/// log, if its learner is: a restarted node asked to remove node 4 from [1,2,3,4] may propose [2,3,4] -> [2,3] and answer
/// 503 "the change to acceptors [2, 3] ... may still take effect"), and that change takes effect if it is chosen while
/// the set is the one it was computed from; so a change of unknown outcome explains one adding (or removing) of its node
/// to (from) whatever set is in force. Anything else is an anomaly: the replicated acceptor set changed though nobody
/// asked for it (say, a copy of an old, confirmed change applied again once the set was back to what that change
/// expected), or two sets are in force from one slot.
/// </summary>
public sealed class MembershipLedger(Action<string> log)
{
    private readonly List<Unresolved> _unresolved = new();
    private readonly List<string> _anomalies = new();

    /// <summary>A change whose outcome the harness does not know: adding (<paramref name="Add"/>) or removing node
    /// <paramref name="Id"/>, to or from the set the node saw when it proposed it.</summary>
    private sealed record Unresolved(bool Add, int Id, string What)
    {
        /// <summary>The set this change makes of <paramref name="set"/>, or null if it changes nothing there.</summary>
        public IReadOnlyList<int>? From(IReadOnlyList<int> set) =>
            Add == set.Contains(Id) ? null : (Add ? set.Append(Id) : set.Where(a => a != Id)).Order().ToList();
    }

    /// <summary>The membership the harness knows in force (confirmed, or observed), or null before the first.</summary>
    public MembersView? Known { get; private set; }

    /// <summary>Sets in force that nothing the harness did explains.</summary>
    public IReadOnlyList<string> Anomalies => _anomalies;

    /// <summary>Changes of unknown outcome later seen to take effect.</summary>
    public int TookEffectLater { get; private set; }

    /// <summary>Changes of unknown outcome not (yet) seen to take effect.</summary>
    public int Outstanding => _unresolved.Count;

    public void Anomaly(string anomaly)
    {
        _anomalies.Add(anomaly);
        log($"membership: ANOMALY: {anomaly}");
    }

    /// <summary>A 200 with the set asked for, in force from a slot after the one known before.</summary>
    public void Confirmed(MembersView view) => Known = view;

    /// <summary>A change sent whose outcome is unknown: adding (<paramref name="add"/>) or removing node <paramref name="id"/>.</summary>
    public void Unknown(bool add, int id, string what) => _unresolved.Add(new Unresolved(add, id, what));

    /// <summary>A membership in force as a node reports it, checked against what the harness knows: the one known, an older
    /// one (a node behind; ignored), or a newer one a change of unknown outcome explains; else an anomaly.</summary>
    public void Observe(MembersView view, string where)
    {
        if (Known is null)
        {
            Known = view;
            return;
        }
        if (view.FromSlot < Known.FromSlot) return;
        if (view.FromSlot == Known.FromSlot)
        {
            if (!view.Acceptors.SequenceEqual(Known.Acceptors))
                Anomaly($"two acceptor sets in force from slot {view.FromSlot}: [{MembersView.Ids(Known.Acceptors)}] and " +
                        $"[{MembersView.Ids(view.Acceptors)}] ({where})");
            return;
        }
        var known = Known.Acceptors;
        var explained = _unresolved.FirstOrDefault(u => u.From(known)?.SequenceEqual(view.Acceptors) == true);
        if (explained is not null)
        {
            _unresolved.Remove(explained);
            TookEffectLater++;
            log($"membership: {explained.What}, whose outcome was unknown, took effect: {view}");
        }
        else
        {
            Anomaly($"the acceptor set changed with no change of the harness outstanding: [{MembersView.Ids(view.Acceptors)}] in force " +
                    $"from slot {view.FromSlot} ({where}), where the harness knew [{MembersView.Ids(Known.Acceptors)}] from slot {Known.FromSlot}" +
                    (_unresolved.Count > 0 ? $"; changes of unknown outcome: {string.Join(", ", _unresolved.Select(u => u.What))}" : ""));
        }
        Known = view;
    }

    /// <summary>A 200 to adding (<paramref name="add"/>) or removing <paramref name="id"/>, decided from
    /// <paramref name="before"/>, whose set is not the one asked for. The node computes the change from the set it sees
    /// when it proposes, so this is explained if a change of unknown outcome from <paramref name="before"/> took effect
    /// first and this one went on top of it; otherwise the set changed on its own, an anomaly.</summary>
    public void Unexpected(IReadOnlyList<int> before, bool add, int id, MembersView view, string where)
    {
        var asked = new Unresolved(add, id, "");
        var first = _unresolved.FirstOrDefault(u => u.From(before) is { } under && asked.From(under)?.SequenceEqual(view.Acceptors) == true);
        if (first is not null)
        {
            _unresolved.Remove(first);
            TookEffectLater++;
            log($"membership: explained: {first.What} (outcome unknown) took effect first");
        }
        else
        {
            Anomaly($"the answer to {where} has acceptors [{MembersView.Ids(view.Acceptors)}] in force from slot {view.FromSlot}, " +
                    $"not [{MembersView.Ids(asked.From(before) ?? before)}] as asked from [{MembersView.Ids(before)}]" +
                    (_unresolved.Count > 0 ? $"; changes of unknown outcome: {string.Join(", ", _unresolved.Select(u => u.What))}" : ""));
        }
        if (Known is null || view.FromSlot >= Known.FromSlot) Known = view;
    }
}
