using System.Collections.Immutable;

namespace PaxosActors.Core.Protocol;

/// <summary>
/// Which configuration governs which slot: the configuration is replicated state, chosen through the log (Lamport,
/// Paxos Made Simple §3: "the set of servers can be part of the state ... the next α commands"). A reconfiguration
/// chosen in slot <c>s</c> governs slots from <c>s + Alpha</c> on; slots before that keep the configuration they had.
/// So the configuration of slot <c>t</c> depends only on what is chosen in slots up to <c>t - Alpha</c>, which every
/// agent learns identically (agreement): every agent that knows the log up to there computes the same quorums for
/// <c>t</c>, and no agent may count votes, prepare or propose for a slot whose configuration it does not know yet
/// (<see cref="KnownThrough"/>). Pure, deterministic.
/// </summary>
/// <remarks>Invariant: epochs strictly ascend by <see cref="MembershipEpoch.EffectiveFrom"/> (no two share one, and one
/// that is gone never comes back), the first one governs every slot this history can answer for, and each epoch after it
/// was started by a change that expected the one before it (<see cref="Reconfiguration.Expects"/>).</remarks>
public sealed class MembershipHistory
{
    /// <summary>Slots between the one that chooses a reconfiguration and the first it governs. A leader never has more
    /// slots than this in flight beyond what it knows chosen, so it always knows the quorums of the slots it proposes in.</summary>
    public const int DefaultAlpha = 16;

    private readonly List<MembershipEpoch> _epochs;

    public MembershipHistory(Membership seed, int alpha = DefaultAlpha)
        : this([new MembershipEpoch(0, seed)], appliedThrough: 0, alpha) { }

    public MembershipHistory(IEnumerable<MembershipEpoch> epochs, long appliedThrough, int alpha = DefaultAlpha)
    {
        if (alpha < 0) throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must not be negative");
        Alpha = alpha;
        _epochs = epochs.OrderBy(e => e.EffectiveFrom).ToList();
        if (_epochs.Count == 0) throw new ArgumentException("a history needs a first configuration");
        AppliedThrough = appliedThrough;
    }

    /// <summary>BROKEN on purpose, the negative control of the simulation only: a change applies whenever its expected
    /// set is the latest, whatever epoch it names (the rule before changes named their epoch), so a copy chosen after
    /// A -> B -> A applies again. Every agent still agrees; the operator's removal is undone. Never set outside it.</summary>
    public bool UnsafeMatchChangesByValue { get; init; }

    /// <summary>Slots between a reconfiguration and the first slot it governs. Zero is the UNSAFE variant the simulation
    /// must catch (quorums switch at once, for every slot, in flight or not): never used outside that negative control.</summary>
    public int Alpha { get; }

    /// <summary>Every slot below this has been applied to this history: the configuration of every slot below
    /// <see cref="KnownThrough"/> is known.</summary>
    public long AppliedThrough { get; private set; }

    /// <summary>Slots below this have a known configuration.</summary>
    public long KnownThrough => Alpha == 0 ? long.MaxValue : AppliedThrough + Alpha;

    /// <summary>The latest configuration, in force or still pending.</summary>
    public Membership Latest => _epochs[^1].Membership;

    /// <summary>The epoch of <see cref="Latest"/>.</summary>
    public MembershipEpoch LatestEpoch => _epochs[^1];

    public ImmutableArray<MembershipEpoch> Epochs => _epochs.ToImmutableArray();

    /// <summary>Whether a reconfiguration is chosen but does not govern <paramref name="slot"/> yet.</summary>
    public bool HasPendingAt(long slot) => _epochs[^1].EffectiveFrom > slot;

    /// <summary>The configuration that governs <paramref name="slot"/>. Only meaningful below <see cref="KnownThrough"/>.</summary>
    public Membership At(long slot)
    {
        if (Alpha == 0) return Latest;
        for (int i = _epochs.Count - 1; i >= 0; i--)
            if (_epochs[i].EffectiveFrom <= slot) return _epochs[i].Membership;
        return _epochs[0].Membership;
    }

    public bool Knows(long slot) => slot < KnownThrough;

    /// <summary>The distinct configurations that govern some slot in [<paramref name="from"/>, <paramref name="to"/>).</summary>
    public IReadOnlyList<Membership> Between(long from, long to)
    {
        if (Alpha == 0) return [Latest];
        var result = new List<Membership> { At(from) };
        foreach (var e in _epochs)
            if (e.EffectiveFrom > from && e.EffectiveFrom < to && !result.Contains(e.Membership)) result.Add(e.Membership);
        return result;
    }

    /// <summary>Applies the value chosen for <paramref name="slot"/>, which must be <see cref="AppliedThrough"/>. Returns the
    /// epoch it started, if it was a reconfiguration that took effect: one that expects <see cref="LatestEpoch"/>. A change
    /// that expects another epoch (computed from a stale view, or a copy of a change chosen again after a later one) is
    /// chosen but changes nothing, and null is returned, as for a change to the set already in place.</summary>
    public MembershipEpoch? Apply(long slot, SlotValue value)
    {
        if (slot != AppliedThrough) throw new InvalidOperationException($"slot {slot} applied when {AppliedThrough} was next");
        AppliedThrough++;
        if (value.Change is not { } change || change.Next.Equals(Latest)) return null;
        if (!(UnsafeMatchChangesByValue ? change.Expected.Equals(Latest) : change.Expects(LatestEpoch))) return null;
        var epoch = new MembershipEpoch(slot + Math.Max(Alpha, 1), change.Next);
        _epochs.Add(epoch);
        return epoch;
    }

    /// <summary>Replaces the whole history with one that has applied every slot below <paramref name="appliedThrough"/>
    /// (a snapshot, or a peer's state).</summary>
    public void Reset(IEnumerable<MembershipEpoch> epochs, long appliedThrough)
    {
        var list = epochs.OrderBy(e => e.EffectiveFrom).ToList();
        if (list.Count == 0) throw new ArgumentException("a history needs a first configuration");
        _epochs.Clear();
        _epochs.AddRange(list);
        AppliedThrough = appliedThrough;
    }

    /// <summary>Forgets epochs that govern no slot from <paramref name="slot"/> on.</summary>
    public void ForgetBelow(long slot)
    {
        while (_epochs.Count > 1 && _epochs[1].EffectiveFrom <= slot) _epochs.RemoveAt(0);
    }

    public override string ToString() =>
        string.Join("; ", _epochs.Select(e => $"from slot {e.EffectiveFrom}: {e.Membership}")) + $" (applied through {AppliedThrough})";
}
