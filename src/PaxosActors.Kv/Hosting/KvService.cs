using System.Collections.Concurrent;
using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;
using PaxosActors.Replication;

namespace PaxosActors.Kv.Hosting;

/// <summary>No quorum answered in time: the outcome of a write is unknown (it may still be applied).</summary>
public sealed class KvUnavailableException(string message) : Exception(message);

/// <summary>
/// This node's client of the replicated log: turns a request into a <see cref="KvCommand"/> with this
/// node's session id and the next sequence number, hands it to the local proposer, and completes when
/// the local learner applies it. A command not applied within the retry interval is proposed again with
/// the same id, so the state machine applies it once however many copies reach the log.
/// </summary>
public sealed class KvService
{
    private readonly KvSettings _settings;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<KvResult>> _waiting = new();
    private readonly SortedSet<long> _outstanding = new();
    private readonly object _lock = new();
    private long _nextSeq;
    private IActorRef? _proposer;

    public KvService(KvSettings settings, ulong clientId)
    {
        _settings = settings;
        ClientId = clientId;
    }

    /// <summary>This node incarnation's session id in the state machine.</summary>
    public ulong ClientId { get; }

    public KvSettings Settings => _settings;

    /// <summary>The state machine the learner currently applies to (a new one after each learner restart). It is not
    /// thread-safe: only the learner's thread may touch it. Other threads read <see cref="View"/>.</summary>
    public KvStateMachine? StateMachine => _replica?.Current;

    private volatile Replica? _replica;

    // Written by the learner's thread after each apply or restore, read by any thread (the HTTP API's /status).
    private volatile KvView? _view;

    /// <summary>The store as of the last slot the learner applied (or restored): slot, key count and content digest,
    /// taken together by the learner's thread, so they always describe one state. Null before the learner created its
    /// state machine. Safe to read from any thread.</summary>
    public KvView? View => _replica is null ? null : _view;

    /// <summary>How many keys the store held after the last slot the learner applied; null before the learner
    /// created its state machine. Safe to read from any thread.</summary>
    public int? KeyCount => View?.Keys;

    /// <summary>Called by the learner actor when it (re)starts: a fresh state machine, rebuilt by recovery.</summary>
    public ISnapshotStateMachine CreateStateMachine()
    {
        var replica = new Replica(this);
        _view = KvView.Of(replica.Current);
        _replica = replica;
        return replica;
    }

    /// <summary>What this node's store holds for <paramref name="key"/> right now, read past the log and past any leader:
    /// a serializable read (<c>GET /kv/{key}?consistency=serializable</c>, etcd's <c>--consistency=s</c>), NOT
    /// linearizable: it may be stale (a node cut off from the others answers from its old state), though never a state
    /// that was not chosen. The chaos harness's control run also makes one node answer every read this way and expects
    /// its checker to catch it. Safe from any thread: it waits for the slot being applied to finish.</summary>
    public KvResult ReadLocal(string key)
    {
        var replica = _replica ?? throw new KvUnavailableException("the learner has not started");
        return replica.ReadLocal(key);
    }

    public void Attach(IActorRef proposer) => _proposer = proposer;

    public Task<KvResult> PutAsync(string key, ReadOnlyMemory<byte> value, CancellationToken ct) =>
        ExecuteAsync((id, acked) => new KvCommand.Put(id, acked, key, value), ct);

    public Task<KvResult> DeleteAsync(string key, CancellationToken ct) =>
        ExecuteAsync((id, acked) => new KvCommand.Delete(id, acked, key), ct);

    /// <summary>
    /// A linearizable read that skips the log (read index): this node's proposer gets a read point from the leader, which
    /// confirmed with a majority of acceptors, after this call began, that it still leads; the read is then served from
    /// this node's store once it has applied every slot below the point. No log entry, no write, no fsync. A point not
    /// granted within the retry interval (no leader, or it was deposed meanwhile) is asked for again.
    /// </summary>
    public async Task<KvResult> GetAsync(string key, CancellationToken ct)
    {
        var proposer = _proposer ?? throw new KvUnavailableException("this node runs no proposer");
        var deadline = DateTime.UtcNow + _settings.RequestTimeout;
        long point;
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
                throw new KvUnavailableException($"no leader confirmed by a quorum within {_settings.RequestTimeout.TotalSeconds:0.###} s");
            try
            {
                var granted = await proposer.Ask<ReadPointGranted>(ReadPointRequest.Instance,
                    remaining < _settings.RetryInterval ? remaining : _settings.RetryInterval, ct);
                point = granted.Point;
                break;
            }
            catch (AskTimeoutException)
            {
                // not granted yet: ask again (a read has no effect, so asking twice is harmless)
            }
        }
        while (true)
        {
            var replica = _replica ?? throw new KvUnavailableException("the learner has not started");
            if (replica.TryRead(key, point) is { } result) return result;
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
                throw new KvUnavailableException($"this node has not applied the log up to the read point (slot {point}) within " +
                                                 $"{_settings.RequestTimeout.TotalSeconds:0.###} s");
            try
            {
                await WaitAppliedAsync(point).WaitAsync(remaining, ct);
            }
            catch (TimeoutException)
            {
                // checked once more above, then given up
            }
        }
    }

    // Reads waiting for the learner to apply their read point: completed by the learner's thread (Publish).
    private readonly Lock _readGate = new();
    private readonly List<(long Point, TaskCompletionSource Done)> _readWaiters = new();

    /// <summary>Completes once the published view has applied every slot below <paramref name="point"/>.</summary>
    private Task WaitAppliedAsync(long point)
    {
        lock (_readGate)
        {
            if (_view is { } view && view.AppliedSlot + 1 >= point) return Task.CompletedTask;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _readWaiters.Add((point, done));
            return done.Task;
        }
    }

    private void ReleaseReads(long appliedSlot)
    {
        lock (_readGate)
        {
            if (_readWaiters.Count == 0) return;
            for (int i = _readWaiters.Count - 1; i >= 0; i--)
            {
                if (_readWaiters[i].Point > appliedSlot + 1) continue;
                _readWaiters[i].Done.TrySetResult();
                _readWaiters.RemoveAt(i);
            }
        }
    }

    public Task<KvResult> CompareAndSetAsync(string key, ReadOnlyMemory<byte>? expected, ReadOnlyMemory<byte>? value, CancellationToken ct) =>
        ExecuteAsync((id, acked) => new KvCommand.CompareAndSet(id, acked, key, expected, value), ct);

    private async Task<KvResult> ExecuteAsync(Func<CommandId, long, KvCommand> make, CancellationToken ct)
    {
        var proposer = _proposer ?? throw new KvUnavailableException("this node runs no proposer");
        long seq;
        lock (_lock)
        {
            seq = ++_nextSeq;
            _outstanding.Add(seq);
        }
        var done = new TaskCompletionSource<KvResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[seq] = done;
        try
        {
            var deadline = DateTime.UtcNow + _settings.RequestTimeout;
            while (true)
            {
                var command = make(new CommandId(ClientId, seq), AckedBelow());
                if (HopTrace.Enabled) HopTrace.Mark("kv-submit", seq);
                proposer.Tell(new Propose(new SlotValue([CommandFrame.Encode(KvRole.StateMachineName, KvCodec.Encode(command))]), 0));
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero) break;
                var wait = remaining < _settings.RetryInterval ? remaining : _settings.RetryInterval;
                try
                {
                    var result = await done.Task.WaitAsync(wait, ct);
                    if (HopTrace.Enabled) HopTrace.Mark("kv-resume", seq);
                    return result;
                }
                catch (TimeoutException)
                {
                    // not applied yet: propose the same command again (the state machine deduplicates)
                }
            }
            throw new KvUnavailableException(
                $"no quorum applied the request within {_settings.RequestTimeout.TotalSeconds:0.###} s; a write may still take effect");
        }
        finally
        {
            _waiting.TryRemove(seq, out _);
            lock (_lock) _outstanding.Remove(seq);
        }
    }

    /// <summary>Every seq below the lowest one still in flight is answered or given up: it is never retried.</summary>
    private long AckedBelow()
    {
        lock (_lock) return _outstanding.Count == 0 ? _nextSeq : _outstanding.Min;
    }

    /// <summary><see cref="CreateStateMachine"/>, as the node's composite state machine applies it: one KV command at a time.</summary>
    public IReplicatedStateMachine CreateReplicatedStateMachine() => (Replica)CreateStateMachine();

    private void OnApplied(CommandId id, KvResult result)
    {
        if (id.ClientId == ClientId && _waiting.TryRemove(id.Seq, out var done)) done.TrySetResult(result);
    }

    /// <summary>The learner's view of the store: the current <see cref="KvStateMachine"/>, replaced whole when
    /// a snapshot is restored.</summary>
    private sealed class Replica : ISnapshotStateMachine, IReplicatedStateMachine
    {
        private readonly KvService _service;

        public Replica(KvService service)
        {
            _service = service;
            Current = new KvStateMachine(service._settings.SessionExpirySlots, Notify);
        }

        // Held by the learner's thread while it changes the store, and by ReadLocal (fault injection only) while it
        // reads it; uncontended, as it always is without fault injection, it costs next to nothing.
        private readonly Lock _gate = new();

        public KvStateMachine Current { get; private set; }

        public void Apply(long slot, SlotValue value)
        {
            lock (_gate) Current.Apply(slot, value);
            Publish();
        }

        public byte[] TakeSnapshot() => Current.Snapshot();

        // The composite's path: each KV command of a slot, then the slot's end. A retry the store recognised is skipped,
        // so the applied stream reports each KV command once.
        public CommandResult Apply(ReplicatedCommand command)
        {
            KvApplied applied;
            lock (_gate) applied = Current.ApplyCommand(command.Slot, command.Payload);
            return applied is { Outcome: KvApplyOutcome.Applied, Result: { } result } ? CommandResult.Of(KvCodec.ResultBytes(result)) : CommandResult.Skip;
        }

        public void OnSlotApplied(long slot)
        {
            lock (_gate) Current.CompleteSlot(slot);
            Publish();
        }

        public void RestoreSnapshot(ReadOnlySpan<byte> state) => RestoreSnapshot(state.ToArray());

        public void RestoreSnapshot(byte[] state)
        {
            var restored = KvStateMachine.Restore(state, _service._settings.SessionExpirySlots, Notify);
            lock (_gate) Current = restored;
            Publish();
        }

        /// <summary>The value of <paramref name="key"/> if this store has applied every slot below <paramref name="point"/>
        /// (a learner that restarted may be behind it again), else null.</summary>
        public KvResult? TryRead(string key, long point)
        {
            lock (_gate)
            {
                if (!ReferenceEquals(_service._replica, this) || Current.AppliedSlot + 1 < point) return null;
                return KvResult.Found(Current.TryGet(key, out var v) ? v.ToArray() : null);
            }
        }

        public KvResult ReadLocal(string key)
        {
            lock (_gate) return KvResult.Found(Current.TryGet(key, out var v) ? v.ToArray() : null);
        }

        // The state machine calls this once the whole slot is applied: the view is published before any request
        // hears its answer, so a client never sees a view older than its own write.
        private void Notify(CommandId id, KvResult result)
        {
            Publish();
            if (HopTrace.Enabled && id.ClientId == _service.ClientId) HopTrace.Mark("kv-complete", id.Seq, extra: Current.AppliedSlot);
            _service.OnApplied(id, result);
        }

        // Only the learner's current replica speaks for the store: one replaced by a learner restart stays silent.
        // Once per slot: every command of a slot notifies after the whole slot is applied, so they share one view.
        private void Publish()
        {
            if (!ReferenceEquals(_service._replica, this)) return;
            if (ReferenceEquals(_publishedFrom, Current) && _publishedSlot == Current.AppliedSlot) return;
            _publishedFrom = Current;
            _publishedSlot = Current.AppliedSlot;
            _service._view = KvView.Of(Current);
            _service.ReleaseReads(Current.AppliedSlot);
        }

        // What was last published: a restore replaces the machine, possibly at the same slot.
        private KvStateMachine? _publishedFrom;
        private long _publishedSlot;
    }
}

/// <summary>One state of a node's store, as the learner's thread published it: the last slot applied, the number of keys,
/// and <see cref="KvStateMachine.ContentDigest"/> (every key and value, and that slot).</summary>
public sealed record KvView(long AppliedSlot, int Keys, ulong Digest)
{
    internal static KvView Of(KvStateMachine machine) => new(machine.AppliedSlot, machine.Count, machine.ContentDigest);
}
