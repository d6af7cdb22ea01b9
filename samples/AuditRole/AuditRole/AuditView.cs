using System.Collections.Immutable;

namespace Samples.Audit;

/// <summary>What the HTTP threads read of the audit role: the counts as of the last applied slot (written by the learner's
/// thread), and what this node incarnation's applied stream delivered (written by <see cref="AuditTrail"/>).</summary>
public sealed class AuditView
{
    private volatile Counts _counts = new(ImmutableSortedDictionary<string, long>.Empty, -1);
    private volatile Trail _trail = new(0, 0, 0, ImmutableQueue<AuditEntry>.Empty, 0);

    /// <summary>Commands applied per state machine, and the slot they are counted to.</summary>
    public Counts Current => _counts;

    /// <summary>What the applied stream told this incarnation.</summary>
    public Trail Seen => _trail;

    internal void Publish(ImmutableSortedDictionary<string, long> counts, long slot) => _counts = new Counts(counts, slot);

    internal void Advance(long slot) => _counts = _counts with { AppliedSlot = slot };

    internal void Record(Trail trail) => _trail = trail;

    /// <summary>Counts per state machine as of <paramref name="AppliedSlot"/>.</summary>
    public sealed record Counts(ImmutableSortedDictionary<string, long> ByStateMachine, long AppliedSlot)
    {
        public long Total => ByStateMachine.Values.Sum();
    }

    /// <summary>Commands delivered live and replayed, states installed, and the last few commands, in this incarnation.</summary>
    public sealed record Trail(long Live, long Replayed, long Installed, ImmutableQueue<AuditEntry> Recent, int RecentCount);
}

/// <summary>One applied command, as the audit trail lists it.</summary>
public sealed record AuditEntry(long Slot, string StateMachine, int Bytes, bool Replayed, string? Session);
