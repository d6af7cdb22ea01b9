using System.Collections.Immutable;
using System.Text.Json;
using PaxosActors.Replication;

namespace Samples.Audit;

/// <summary>
/// How many commands the cluster applied, per state machine: replicated state of its own, derived from the log. It
/// observes every command applied to the other machines (<see cref="IObservingStateMachine"/>), so a retried command
/// counts once (retries are never observed), and its counts are snapshotted, restored and transferred with every other
/// machine's state: after a restart the learner restores the snapshot and replays its journal into a fresh
/// <see cref="AuditCounts"/>, which counts each slot after the snapshot exactly once again. Nothing is counted twice and
/// nothing is lost, whatever the node was doing when it stopped.
/// </summary>
public sealed class AuditCounts(AuditView view) : IObservingStateMachine
{
    private readonly SortedDictionary<string, long> _counts = new(StringComparer.Ordinal);
    private long _appliedSlot = -1;
    private bool _changed = true;

    /// <summary>The audit role sends no commands of its own.</summary>
    public CommandResult Apply(ReplicatedCommand command) => CommandResult.Skip;

    public void Observe(AppliedCommand command, long slot)
    {
        _counts[command.StateMachine] = _counts.GetValueOrDefault(command.StateMachine) + 1;
        _changed = true;
    }

    public void OnSlotApplied(long slot)
    {
        _appliedSlot = slot;
        // One immutable copy per slot that changed something: what the HTTP threads read.
        if (_changed) view.Publish(_counts.ToImmutableSortedDictionary(StringComparer.Ordinal), slot);
        else view.Advance(slot);
        _changed = false;
    }

    // Sorted keys: the same counts give the same bytes on every node.
    public byte[] TakeSnapshot() => JsonSerializer.SerializeToUtf8Bytes(new Snapshot(_appliedSlot, _counts));

    public void RestoreSnapshot(ReadOnlySpan<byte> state)
    {
        var snapshot = JsonSerializer.Deserialize<Snapshot>(state) ?? throw new FormatException("an audit snapshot is null");
        _counts.Clear();
        foreach (var (name, count) in snapshot.Counts) _counts[name] = count;
        _appliedSlot = snapshot.AppliedSlot;
        view.Publish(_counts.ToImmutableSortedDictionary(StringComparer.Ordinal), _appliedSlot);
        _changed = false;
    }

    private sealed record Snapshot(long AppliedSlot, SortedDictionary<string, long> Counts);
}
