using System.Runtime.InteropServices;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Kv.Binary;
using PaxosActors.Replication;

namespace PaxosActors.Kv;

/// <summary>The replicated key-value store: applies the <see cref="KvCommand"/>s of chosen slots in order, each client command exactly once.</summary>
/// <remarks>
/// Every decision depends only on the slots applied, never on a clock, so replicas fed the same log hold the same
/// state and the same <see cref="Digest"/>. Exactly-once: per client it keeps the results of applied seqs the client
/// has not acknowledged; a retry gets the stored result back instead of running again, and a seq below the client's
/// acknowledgement is dropped. A client unheard of for <c>sessionExpirySlots</c> slots loses its session.
/// Not thread-safe: the learner applies from one thread.
/// </remarks>
public sealed class KvStateMachine : IStateMachine
{
    /// <summary>Slots a silent client's session survives by default.</summary>
    public const long DefaultSessionExpirySlots = 1_000_000;

    /// <summary>The snapshot format <see cref="Snapshot"/> writes and <see cref="Restore"/> reads.</summary>
    public const byte SnapshotFormatVersion = 1;

    private const string SnapshotWhat = "KV snapshot";
    private const byte ResultOk = 1, ResultExisted = 2, ResultHasValue = 4;

    private readonly Dictionary<string, byte[]> _store = new(StringComparer.Ordinal);
    private readonly SessionTable<KvResult> _sessions;
    private readonly List<(CommandId Id, KvResult Result)> _pendingNotifications = new();
    private readonly Action<CommandId, KvResult>? _onApplied;

    /// <param name="sessionExpirySlots">A session not seen for this many slots is removed. Must match on every replica.</param>
    /// <param name="onApplied">Told each command's result once its slot is applied, a deduplicated retry included
    /// (with the stored result), so a node can answer the waiting client. Not told about stale (acknowledged) seqs:
    /// their client promised nobody waits for them.</param>
    public KvStateMachine(long sessionExpirySlots = DefaultSessionExpirySlots, Action<CommandId, KvResult>? onApplied = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sessionExpirySlots, 1);
        SessionExpirySlots = sessionExpirySlots;
        _sessions = new SessionTable<KvResult>(sessionExpirySlots);
        _onApplied = onApplied;
    }

    /// <summary>Slots a silent client's session survives.</summary>
    public long SessionExpirySlots { get; }

    /// <summary>The last slot applied, -1 before any. Invariant: slots 0..AppliedSlot were each applied once, in order.</summary>
    public long AppliedSlot { get; private set; } = -1;

    /// <summary>Keys in the store.</summary>
    public int Count => _store.Count;

    /// <summary>Approximate size of the store: UTF-8 key bytes plus value bytes.</summary>
    public long Bytes { get; private set; }

    /// <summary>An order-independent hash of every key and its value (sessions and counters left out), kept up to date
    /// as entries change: replicas holding the same keys and values hold the same one, whatever order they wrote
    /// them in. See <see cref="ContentDigest"/> for the one that names the slot too.</summary>
    public ulong ContentHash { get; private set; }

    /// <summary><see cref="ContentHash"/> bound to <see cref="AppliedSlot"/>: two replicas give the same one only if they
    /// applied the same slots and hold the same keys and values (up to a 64-bit hash collision). Cheap: O(1).</summary>
    public ulong ContentDigest => Binary.ContentHash.Digest(AppliedSlot, ContentHash);

    /// <summary>Client sessions currently remembered.</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>Commands that changed or read the store (each client command counts once, however often it was retried).</summary>
    public long AppliedCommands { get; private set; }

    /// <summary>Retries of an applied seq, answered from the session without running again.</summary>
    public long DuplicateCommands { get; private set; }

    /// <summary>Seqs below their client's acknowledgement, dropped unapplied.</summary>
    public long StaleCommands { get; private set; }

    /// <summary>Commands that did not decode; each was a no-op.</summary>
    public long UndecodableCommands { get; private set; }

    public bool TryGet(string key, out ReadOnlyMemory<byte> value)
    {
        if (_store.TryGetValue(key, out var bytes))
        {
            value = bytes;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>Applies every command of <paramref name="value"/>, in order.</summary>
    /// <remarks>A slot at or below <see cref="AppliedSlot"/> is ignored: a learner replaying its journal over a restored
    /// snapshot offers slots the snapshot already holds. A gap is a learner bug and throws.</remarks>
    public void Apply(long slot, SlotValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (slot <= AppliedSlot) return;
        foreach (var command in value.Commands) ApplyCommand(slot, command);
        CompleteSlot(slot);
    }

    /// <summary>Applies one command of <paramref name="slot"/>, the slot being applied: what the node's composite state
    /// machine does with each KV command of a slot, before <see cref="CompleteSlot"/>. Says whether it ran, and its result
    /// (also the stored one of a retry).</summary>
    public KvApplied ApplyCommand(long slot, ReadOnlyMemory<byte> bytes)
    {
        if (slot <= AppliedSlot) return new KvApplied(KvApplyOutcome.AlreadyApplied, null);
        EnsureNext(slot);
        KvCommand command;
        try
        {
            command = KvCodec.Decode(bytes.Span);
        }
        catch (FormatException)
        {
            // Whatever a faulty or hostile client put in the log was chosen; every replica skips it alike.
            UndecodableCommands++;
            return new KvApplied(KvApplyOutcome.Undecodable, null);
        }

        var session = _sessions.Touch(command.Id.ClientId, slot);
        long seq = command.Id.Seq;
        KvApplied applied;
        switch (session.Check(seq, out var stored))
        {
            case SessionCheck.Stale:
                StaleCommands++;
                applied = new KvApplied(KvApplyOutcome.Stale, null);
                break;
            case SessionCheck.Duplicate:
                DuplicateCommands++;
                Notify(command.Id, stored!);
                applied = new KvApplied(KvApplyOutcome.Duplicate, stored);
                break;
            default:
                var result = Execute(command);
                AppliedCommands++;
                session.Store(seq, result);
                Notify(command.Id, result);
                applied = new KvApplied(KvApplyOutcome.Applied, result);
                break;
        }
        // After the command: AckedBelow <= seq (the codec enforces it), so this never forgets the result just stored.
        session.Acknowledge(command.AckedBelow);
        return applied;
    }

    /// <summary>Ends <paramref name="slot"/> once all its commands are applied (whether or not it held any KV command):
    /// it is now <see cref="AppliedSlot"/>, silent sessions expire, and the callback hears the slot's results.</summary>
    public void CompleteSlot(long slot)
    {
        if (slot <= AppliedSlot) return;
        EnsureNext(slot);
        AppliedSlot = slot;
        _sessions.Expire(slot);

        // Told only after the whole slot is applied, so a callback sees a consistent store and one that throws
        // cannot leave a slot half applied.
        if (_pendingNotifications.Count == 0) return;
        try
        {
            if (_onApplied is not null)
                foreach (var (id, result) in _pendingNotifications) _onApplied(id, result);
        }
        finally
        {
            _pendingNotifications.Clear();
        }
    }

    private void EnsureNext(long slot)
    {
        if (slot != AppliedSlot + 1)
            throw new InvalidOperationException($"Slot {slot} applied after slot {AppliedSlot}: slots must be applied in order without gaps.");
    }

    private void Notify(CommandId id, KvResult result)
    {
        if (_onApplied is not null) _pendingNotifications.Add((id, result));
    }

    private KvResult Execute(KvCommand command)
    {
        _store.TryGetValue(command.Key, out var current);
        switch (command)
        {
            case KvCommand.Put put:
                Set(put.Key, current, put.Value);
                return KvResult.Ok(current is not null);
            case KvCommand.Delete delete:
                if (current is not null) Remove(delete.Key, current);
                return KvResult.Ok(current is not null);
            case KvCommand.CompareAndSet cas:
                bool matches = cas.Expected is { } expected
                    ? current is not null && expected.Span.SequenceEqual(current)
                    : current is null;
                if (!matches) return KvResult.Failed(current);
                if (cas.New is { } replacement) Set(cas.Key, current, replacement);
                else if (current is not null) Remove(cas.Key, current);
                return KvResult.Ok(current is not null);
            case KvCommand.Get:
                return KvResult.Found(current);
            default:
                throw new InvalidOperationException($"Unknown command type {command.GetType()}.");
        }
    }

    private void Set(string key, byte[]? current, ReadOnlyMemory<byte> value)
    {
        var owned = Own(value);
        if (current is null) Bytes += ByteWriter.StrictUtf8.GetByteCount(key);
        else
        {
            Bytes -= current.Length;
            ContentHash -= Binary.ContentHash.Entry(key, current);
        }
        Bytes += owned.Length;
        ContentHash += Binary.ContentHash.Entry(key, owned);
        _store[key] = owned;
    }

    private void Remove(string key, byte[] current)
    {
        _store.Remove(key);
        Bytes -= ByteWriter.StrictUtf8.GetByteCount(key) + current.Length;
        ContentHash -= Binary.ContentHash.Entry(key, current);
    }

    // The codec decodes every value into a fresh array of its own, so the store may keep it; anything else is copied
    // so no caller can change a stored value behind the store's back.
    private static byte[] Own(ReadOnlyMemory<byte> value) =>
        MemoryMarshal.TryGetArray(value, out var segment) && segment.Array is { } array && segment.Offset == 0 && segment.Count == array.Length
            ? array
            : value.ToArray();

    /// <summary>The replicated state (store, sessions with their stored results, <see cref="AppliedSlot"/>) as bytes.</summary>
    /// <remarks>
    /// Deterministic: keys, clients and seqs are written sorted, so equal states give equal bytes and replicas can
    /// compare <see cref="Digest"/>s. The counters are local statistics and are left out.
    /// Format version 1:
    /// <code>
    /// version:u8 = 1 | appliedSlot:varint
    /// | entries:varuint { key: len utf8 | value: len bytes }            (keys ascending, ordinal)
    /// | sessions:varuint { clientId:varuint | ackedBelow:varint | lastSeenSlot:varint
    ///                      | results:varuint { seq:varint | flags:u8 (1 ok, 2 existed, 4 has value) [value: len bytes] } }
    ///                                                                   (clients and seqs ascending)
    /// | checksum:u64 little-endian, FNV-1a 64 of every byte before it
    /// </code>
    /// </remarks>
    public byte[] Snapshot()
    {
        var w = new ByteWriter(checked((int)Math.Min(int.MaxValue, Bytes + 4L * _store.Count + 64)));
        w.WriteByte(SnapshotFormatVersion);
        w.WriteVarInt64(AppliedSlot);

        var keys = _store.Keys.ToArray();
        Array.Sort(keys, StringComparer.Ordinal);
        w.WriteVarUInt64((ulong)keys.Length);
        foreach (var key in keys)
        {
            w.WriteString(key);
            w.WriteLengthPrefixed(_store[key]);
        }

        var sessions = _sessions.Sessions();
        w.WriteVarUInt64((ulong)sessions.Count);
        foreach (var session in sessions)
        {
            w.WriteVarUInt64(session.Id);
            w.WriteVarInt64(session.AckedBelow);
            w.WriteVarInt64(session.LastSeenSlot);
            var results = session.Results();
            w.WriteVarUInt64((ulong)results.Count);
            foreach (var (seq, result) in results)
            {
                w.WriteVarInt64(seq);
                w.WriteByte((byte)((result.IsOk ? ResultOk : 0) | (result.Existed ? ResultExisted : 0) | (result.Value.HasValue ? ResultHasValue : 0)));
                if (result.Value is { } v) w.WriteLengthPrefixed(v.Span);
            }
        }

        w.WriteUInt64LittleEndian(Fnv1a64.Hash(w.Written));
        return w.ToArray();
    }

    /// <summary>A 64-bit FNV-1a hash of <see cref="Snapshot"/>: equal on replicas that applied the same slots.</summary>
    public ulong Digest() => Fnv1a64.Hash(Snapshot());

    /// <summary>Rebuilds a state machine from <see cref="Snapshot"/> bytes; it continues from the snapshot's slot on.</summary>
    /// <exception cref="FormatException">The snapshot is corrupt, truncated, of an unknown version or not canonical.</exception>
    public static KvStateMachine Restore(
        ReadOnlySpan<byte> snapshot,
        long sessionExpirySlots = DefaultSessionExpirySlots,
        Action<CommandId, KvResult>? onApplied = null)
    {
        if (snapshot.Length < 1 + 8)
            throw new FormatException($"Malformed {SnapshotWhat}: {snapshot.Length} byte(s) is too short to be a snapshot.");
        var body = snapshot[..^8];
        var outer = new ByteReader(snapshot[^8..], SnapshotWhat);
        ulong checksum = outer.ReadUInt64LittleEndian("checksum");
        // Checked before parsing anything, so a flipped bit is reported as corruption rather than as whatever it decodes to.
        if (checksum != Fnv1a64.Hash(body))
            throw new FormatException($"Malformed {SnapshotWhat}: checksum mismatch (the snapshot is corrupt or truncated).");

        var r = new ByteReader(body, SnapshotWhat);
        byte version = r.ReadByte("format version");
        if (version != SnapshotFormatVersion)
            throw r.Malformed($"unknown format version {version} (this build reads {SnapshotFormatVersion})");

        var machine = new KvStateMachine(sessionExpirySlots, onApplied);
        long appliedSlot = r.ReadVarInt64("applied slot");
        if (appliedSlot < -1) throw r.Malformed($"applied slot {appliedSlot} is below -1");
        machine.AppliedSlot = appliedSlot;

        int entries = r.ReadCount("entry count", 2);
        string? previousKey = null;
        for (int i = 0; i < entries; i++)
        {
            string key = r.ReadString("key");
            // Strictly ascending: rules out duplicates, and keeps one state to one byte string.
            if (previousKey is not null && string.CompareOrdinal(previousKey, key) >= 0)
                throw r.Malformed($"keys out of order at entry {i}");
            previousKey = key;
            machine.Set(key, null, r.ReadLengthPrefixed("value"));
        }

        int sessions = r.ReadCount("session count", 4);
        ulong previousClient = 0;
        for (int i = 0; i < sessions; i++)
        {
            ulong clientId = r.ReadVarUInt64("client id");
            if (i > 0 && clientId <= previousClient) throw r.Malformed($"sessions out of order at session {i}");
            previousClient = clientId;
            var session = new ClientSession<KvResult>(clientId)
            {
                AckedBelow = r.ReadVarInt64("acked below"),
                LastSeenSlot = r.ReadVarInt64("last seen slot"),
            };
            if (session.LastSeenSlot < 0 || session.LastSeenSlot > appliedSlot)
                throw r.Malformed($"session {clientId} last seen at slot {session.LastSeenSlot}, outside 0..{appliedSlot}");
            int results = r.ReadCount("result count", 2);
            long previousSeq = 0;
            for (int j = 0; j < results; j++)
            {
                long seq = r.ReadVarInt64("seq");
                if (seq < session.AckedBelow) throw r.Malformed($"session {clientId} keeps seq {seq} below its acked-below {session.AckedBelow}");
                if (j > 0 && seq <= previousSeq) throw r.Malformed($"session {clientId} seqs out of order");
                previousSeq = seq;
                byte flags = r.ReadByte("result flags");
                if ((flags & ~(ResultOk | ResultExisted | ResultHasValue)) != 0) throw r.Malformed($"unknown result flags 0x{flags:X2}");
                bool isOk = (flags & ResultOk) != 0, existed = (flags & ResultExisted) != 0;
                ReadOnlyMemory<byte>? value = (flags & ResultHasValue) != 0 ? r.ReadLengthPrefixed("result value") : (ReadOnlyMemory<byte>?)null;
                if (value.HasValue && !existed) throw r.Malformed("a result carries a value for an absent key");
                var result = isOk
                    ? value.HasValue ? KvResult.Found(value) : existed ? KvResult.Ok(true) : KvResult.Ok(false)
                    : KvResult.Failed(value);
                if (result.Existed != existed) throw r.Malformed("a failed result's existed flag disagrees with its value");
                session.Store(seq, result);
            }
            machine._sessions.Add(session);
        }
        r.EnsureEnd();
        machine._sessions.Rebuilt();
        return machine;
    }
}

/// <summary>What <see cref="KvStateMachine.ApplyCommand"/> did with one command.</summary>
public enum KvApplyOutcome
{
    /// <summary>Run for the first time.</summary>
    Applied,
    /// <summary>A retry of a command already run: answered with its stored result, not run again.</summary>
    Duplicate,
    /// <summary>Below its client's acknowledgement: dropped, nobody waits for it.</summary>
    Stale,
    /// <summary>Not a KV command: skipped on every replica.</summary>
    Undecodable,
    /// <summary>Its slot is already in the state (a replay over a restored snapshot).</summary>
    AlreadyApplied,
}

/// <summary>One command's outcome and result (null unless applied or a duplicate).</summary>
public readonly record struct KvApplied(KvApplyOutcome Outcome, KvResult? Result);
