using Akka.Event;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Replication;

/// <summary>What the learner shell tells a state machine beyond the values themselves: whether they come from its own
/// journal at recovery, and where an installed state came from.</summary>
internal interface IReplayAwareStateMachine : ISnapshotStateMachine
{
    void Apply(long slot, SlotValue value, bool replayed);

    void Install(long nextToApply, byte[] state, InstallSource source, bool replayed);
}

/// <summary>
/// What a node's learner applies chosen slots to: every state machine the roles registered, by name. Each command of a
/// slot goes, in log order, to the machine its frame names (<see cref="CommandFrame"/>); a command submitted through a
/// client session is applied once, its result stored until acknowledged and returned to every retry
/// (<see cref="SessionTable{TResult}"/>). After each slot the applied stream (<see cref="AppliedStream"/>) gets the
/// slot's commands with their results. Snapshots hold the sessions and every machine's state by name, so no role can
/// turn snapshots or state transfer off. One per learner incarnation; the learner's thread only.
/// </summary>
/// <remarks>
/// A command for a machine this node does not run cannot be applied here: it is skipped and logged as an ERROR, since
/// this node's state now differs from the nodes that run it. So a role that owns replicated state runs on every learner
/// node (a snapshot taken where it does not run could not carry its state either).
/// </remarks>
public sealed class CompositeStateMachine : IReplayAwareStateMachine
{
    /// <summary>The first byte of a composite snapshot (format 1). A KV store's snapshot of an older log starts with 1.</summary>
    public const byte SnapshotMarker = 0xF2;

    private const string SnapshotWhat = "composite snapshot";

    private readonly Member[] _members;
    private readonly Member? _unframedOwner;
    private SessionTable<ReadOnlyMemory<byte>> _sessions;
    private readonly AppliedStream? _stream;
    private readonly CommandClient? _client;
    private readonly ILoggingAdapter? _log;
    private readonly string _node;
    private readonly Dictionary<string, long> _unknown = new(StringComparer.Ordinal);
    private readonly List<(long Seq, ReadOnlyMemory<byte> Result)> _answers = new();
    private List<IObservingStateMachine> _observers = new();
    private long _appliedSlot = -1;
    private bool _appliedKnown = true;

    /// <param name="registrations">The registered machines; each is built empty now.</param>
    /// <param name="sessionExpirySlots"><c>paxos.commands.session-expiry-slots</c>.</param>
    /// <param name="stream">Where applied slots go; none without.</param>
    /// <param name="client">This node's client: told the results of its own session's commands.</param>
    /// <param name="log">Where skipped commands and failing machines are reported.</param>
    public CompositeStateMachine(IReadOnlyList<StateMachineRegistration> registrations, long sessionExpirySlots,
        AppliedStream? stream = null, CommandClient? client = null, ILoggingAdapter? log = null, int nodeId = 0)
    {
        _members = registrations.OrderBy(r => r.Name, StringComparer.Ordinal).Select(r => new Member(r)).ToArray();
        _unframedOwner = _members.FirstOrDefault(m => m.Registration.OwnsUnframedCommands);
        _sessions = new SessionTable<ReadOnlyMemory<byte>>(sessionExpirySlots);
        _stream = stream;
        _client = client;
        _log = log;
        _node = nodeId > 0 ? $"node {nodeId}" : "this node";
        foreach (var m in _members) m.Machine = Build(m);
        RefreshObservers();
    }

    /// <summary>The names of the machines, ascending.</summary>
    public IReadOnlyList<string> Names => _members.Select(m => m.Registration.Name).ToList();

    /// <summary>The machine named <paramref name="name"/> as the learner now applies to it (replaced when a snapshot
    /// without its state is installed); null if none.</summary>
    public IReplicatedStateMachine? Machine(string name) => _members.FirstOrDefault(m => m.Registration.Name == name)?.Machine;

    /// <summary>The last slot applied (-1: none; unknown right after an old-format snapshot was restored).</summary>
    public long AppliedSlot => _appliedSlot;

    /// <summary>Client sessions remembered (those of <see cref="CommandClient"/>s).</summary>
    public int SessionCount => _sessions.Count;

    /// <summary>Commands skipped because no machine of theirs runs here, by the name they carried.</summary>
    public IReadOnlyDictionary<string, long> UnknownCommands => _unknown;

    /// <summary>Commands that were not a well-formed frame (and no machine takes unframed ones).</summary>
    public long UndecodableCommands { get; private set; }

    /// <summary>Commands, observations and slot ends on which a machine threw.</summary>
    public long Failures { get; private set; }

    public void Apply(long slot, SlotValue value) => Apply(slot, value, replayed: false);

    /// <summary>Applies every command of <paramref name="slot"/> in order. A slot already in the state is ignored (a
    /// learner replaying its journal over a restored snapshot); a gap is a learner bug and throws.</summary>
    public void Apply(long slot, SlotValue value, bool replayed)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (_appliedKnown && slot <= _appliedSlot) return;
        if (_appliedKnown && slot != _appliedSlot + 1)
            throw new InvalidOperationException($"Slot {slot} applied after slot {_appliedSlot}: slots must be applied in order without gaps.");

        var reported = _stream is { Wanted: true } ? new List<AppliedCommand>() : null;
        var commands = value.Commands;
        for (int i = 0; i < commands.Length; i++)
        {
            var applied = ApplyCommand(slot, i, commands[i], reported is not null || _observers.Count > 0);
            if (applied is null) continue;
            reported?.Add(applied.Value.Command);
            foreach (var observer in _observers)
            {
                if (ReferenceEquals(observer, applied.Value.Target.Machine)) continue;
                try
                {
                    observer.Observe(applied.Value.Command, slot);
                }
                catch (Exception e)
                {
                    Fail(Owner(observer), slot, "observing a command of", e);
                }
            }
        }
        foreach (var m in _members)
        {
            try
            {
                m.Machine.OnSlotApplied(slot);
            }
            catch (Exception e)
            {
                Fail(m, slot, "ending", e);
            }
        }
        _sessions.Expire(slot);
        _appliedSlot = slot;
        _appliedKnown = true;

        if (reported is not null) _stream!.Publish(new SlotApplied(slot, reported, replayed));
        // Told only once the whole slot is applied, so a waiting client never sees a state older than its own command.
        if (_answers.Count == 0) return;
        try
        {
            foreach (var (seq, result) in _answers) _client?.Completed(seq, result);
        }
        finally
        {
            _answers.Clear();
        }
    }

    /// <summary>One command; null when it was not applied (a retry, stale, undecodable, not ours, skipped by its machine).</summary>
    private (Member Target, AppliedCommand Command)? ApplyCommand(long slot, int index, ReadOnlyMemory<byte> raw, bool describe)
    {
        FramedCommand frame;
        Member? target;
        if (CommandFrame.IsFramed(raw.Span))
        {
            try
            {
                frame = CommandFrame.Decode(raw);
            }
            catch (FormatException e)
            {
                Undecodable(slot, index, e.Message);
                return null;
            }
            target = Find(frame.NameUtf8.Span);
            if (target is null)
            {
                Unknown(slot, frame.StateMachine);
                return null;
            }
        }
        else if (_unframedOwner is { } owner)
        {
            target = owner;
            frame = new FramedCommand(owner.Registration.NameUtf8, raw, null, 0);
        }
        else
        {
            Undecodable(slot, index, "not a command frame");
            return null;
        }

        var command = new ReplicatedCommand(slot, index, frame.Payload, frame.Id);
        CommandResult result;
        if (frame.Id is { } id)
        {
            var session = _sessions.Touch(id.Session, slot);
            switch (session.Check(id.Seq, out var stored))
            {
                case SessionCheck.Stale:
                    session.Acknowledge(frame.AckedBelow);
                    return null;
                case SessionCheck.Duplicate:
                    Answer(id, stored);
                    session.Acknowledge(frame.AckedBelow);
                    return null;
            }
            result = Run(target, command);
            session.Store(id.Seq, result.Bytes);
            Answer(id, result.Bytes);
            // After the command: AckedBelow <= seq (the frame enforces it), so this never forgets the result just stored.
            session.Acknowledge(frame.AckedBelow);
        }
        else
        {
            result = Run(target, command);
        }
        if (result.Skipped) return null;
        return describe ? (target, new AppliedCommand(target.Registration.Name, frame.Payload, result.Bytes, frame.Id)) : (target, null!);
    }

    private CommandResult Run(Member target, ReplicatedCommand command)
    {
        try
        {
            return target.Machine.Apply(command);
        }
        catch (Exception e)
        {
            Fail(target, command.Slot, $"applying command {command.Index} of", e);
            return CommandResult.Skip;
        }
    }

    private void Answer(ClientCommandId id, ReadOnlyMemory<byte> result)
    {
        if (_client is not null && id.Session == _client.Session) _answers.Add((id.Seq, result));
    }

    private Member? Find(ReadOnlySpan<byte> name)
    {
        foreach (var m in _members)
            if (name.SequenceEqual(m.Registration.NameUtf8)) return m;
        return null;
    }

    private void Unknown(long slot, string name)
    {
        long n = _unknown.TryGetValue(name, out long seen) ? seen + 1 : 1;
        _unknown[name] = n;
        if (!IsLogged(n)) return;
        _log?.Error("{0}: slot {1} holds a command for the state machine '{2}', which no role on this node registers " +
                    "(it runs: {3}); it is skipped here, so this node's state differs from the nodes that run it. A role that " +
                    "owns replicated state must run on every learner node (README, \"Adding a role\"). ({4} such command(s) so far)",
            _node, slot, name, _members.Length == 0 ? "none" : string.Join(", ", Names), n);
    }

    private void Undecodable(long slot, int index, string why)
    {
        UndecodableCommands++;
        if (IsLogged(UndecodableCommands))
            _log?.Error("{0}: command {1} of slot {2} is skipped: {3} ({4} such command(s) so far)", _node, index, slot, why, UndecodableCommands);
    }

    private void Fail(Member member, long slot, string doing, Exception e)
    {
        Failures++;
        if (IsLogged(Failures))
            _log?.Error(e, "{0}: the state machine '{1}' (role {2}) threw {3} slot {4}; it is skipped, and that machine's state " +
                           "may now differ from other nodes'. A replicated state machine must not throw. ({5} failure(s) so far)",
                _node, member.Registration.Name, member.Registration.Role, doing, slot, Failures);
    }

    // The first time, then at 10, 100, 1000, ...: loud, without flooding the log.
    private static bool IsLogged(long n)
    {
        if (n == 1) return true;
        while (n % 10 == 0) n /= 10;
        return n == 1;
    }

    private Member Owner(IObservingStateMachine observer) => _members.First(m => ReferenceEquals(m.Machine, observer));

    /// <summary>
    /// The sessions and every machine's state, deterministic for the same state. Format 1:
    /// <code>
    /// marker:u8 = 0xF2 | appliedSlot:varint
    /// | sessions:varuint { id:varuint | ackedBelow:varint | lastSeenSlot:varint | results:varuint { seq:varint | result: len bytes } }
    /// | machines:varuint { name: len utf8 | state: len bytes }        (sessions, seqs and names ascending)
    /// | checksum:u64 little-endian, FNV-1a 64 of every byte before it
    /// </code>
    /// </summary>
    public byte[] TakeSnapshot()
    {
        var w = new WireOut(256);
        w.Byte(SnapshotMarker);
        w.Int64(_appliedSlot);
        var sessions = _sessions.Sessions();
        w.UInt64((ulong)sessions.Count);
        foreach (var s in sessions)
        {
            w.UInt64(s.Id);
            w.Int64(s.AckedBelow);
            w.Int64(s.LastSeenSlot);
            var results = s.Results();
            w.UInt64((ulong)results.Count);
            foreach (var (seq, result) in results)
            {
                w.Int64(seq);
                w.LengthPrefixed(result.Span);
            }
        }
        w.UInt64((ulong)_members.Length);
        foreach (var m in _members)
        {
            w.String(m.Registration.Name);
            byte[] state;
            try
            {
                state = m.Machine.TakeSnapshot();
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"the state machine '{m.Registration.Name}' (role {m.Registration.Role}) failed to take a snapshot: {e.Message}", e);
            }
            w.LengthPrefixed(state);
        }
        w.UInt64LittleEndian(Fnv1a64.Hash(w.Written));
        return w.ToArray();
    }

    public void RestoreSnapshot(byte[] state) => Restore(state);

    /// <summary>The registered machines that <paramref name="snapshot"/> holds nothing of (empty: it can be installed
    /// without losing any). A snapshot that does not parse lacks nothing here: installing it fails with the reason.</summary>
    public IReadOnlyList<string> Lacks(ReadOnlySpan<byte> snapshot)
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            if (snapshot.Length == 0 || snapshot[0] != SnapshotMarker)
            {
                if (_unframedOwner is { } owner) held.Add(owner.Registration.Name);
            }
            else
            {
                var r = new WireIn(snapshot[..^8], SnapshotWhat);
                r.Byte("marker");
                r.Int64("applied slot");
                int sessions = r.Count("session count", 4);
                for (int i = 0; i < sessions; i++)
                {
                    r.UInt64("session id");
                    r.Int64("acked below");
                    r.Int64("last seen slot");
                    int results = r.Count("result count", 2);
                    for (int j = 0; j < results; j++)
                    {
                        r.Int64("seq");
                        r.LengthPrefixed("result");
                    }
                }
                int machines = r.Count("machine count", 2);
                for (int i = 0; i < machines; i++)
                {
                    held.Add(r.String("machine name"));
                    r.LengthPrefixed("machine state");
                }
            }
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException)
        {
            return [];
        }
        return _members.Select(m => m.Registration.Name).Where(n => !held.Contains(n)).ToList();
    }

    public void Install(long nextToApply, byte[] state, InstallSource source, bool replayed)
    {
        Restore(state);
        if (!_appliedKnown || _appliedSlot != nextToApply - 1)
        {
            if (_appliedKnown)
                _log?.Warning("{0}: the state installed for slot {1} says it holds slots up to {2}", _node, nextToApply, _appliedSlot);
            _appliedSlot = nextToApply - 1;
            _appliedKnown = true;
        }
        if (_stream is { Wanted: true }) _stream.Publish(new StateInstalled(nextToApply, source, replayed));
    }

    /// <summary>Replaces the whole state with <see cref="TakeSnapshot"/> bytes (or an older log's KV snapshot, given to
    /// the machine that owns unframed commands). A registered machine the snapshot holds nothing of starts empty; a
    /// machine in the snapshot that no role here registers is dropped; both are logged as errors.</summary>
    /// <exception cref="FormatException">The snapshot is corrupt, truncated or of an unknown format.</exception>
    private void Restore(ReadOnlySpan<byte> snapshot)
    {
        if (snapshot.Length == 0 || snapshot[0] != SnapshotMarker)
        {
            RestoreUnframed(snapshot);
            return;
        }
        if (snapshot.Length < 1 + 8) throw new FormatException($"Malformed {SnapshotWhat}: {snapshot.Length} byte(s) is too short.");
        var body = snapshot[..^8];
        var tail = new WireIn(snapshot[^8..], SnapshotWhat);
        if (tail.UInt64LittleEndian("checksum") != Fnv1a64.Hash(body))
            throw new FormatException($"Malformed {SnapshotWhat}: checksum mismatch (the snapshot is corrupt or truncated).");

        var r = new WireIn(body, SnapshotWhat);
        r.Byte("marker");
        long appliedSlot = r.Int64("applied slot");
        if (appliedSlot < -1) throw r.Malformed($"applied slot {appliedSlot} is below -1");
        var sessions = new SessionTable<ReadOnlyMemory<byte>>(_sessions.ExpirySlots);
        int sessionCount = r.Count("session count", 4);
        ulong previous = 0;
        for (int i = 0; i < sessionCount; i++)
        {
            ulong id = r.UInt64("session id");
            if (i > 0 && id <= previous) throw r.Malformed($"sessions out of order at session {i}");
            previous = id;
            var session = new ClientSession<ReadOnlyMemory<byte>>(id) { AckedBelow = r.Int64("acked below"), LastSeenSlot = r.Int64("last seen slot") };
            int results = r.Count("result count", 2);
            long previousSeq = 0;
            for (int j = 0; j < results; j++)
            {
                long seq = r.Int64("seq");
                if (seq < session.AckedBelow) throw r.Malformed($"session {id} keeps seq {seq} below its acked-below {session.AckedBelow}");
                if (j > 0 && seq <= previousSeq) throw r.Malformed($"session {id} seqs out of order");
                previousSeq = seq;
                session.Store(seq, r.LengthPrefixed("result").ToArray());
            }
            sessions.Add(session);
        }
        sessions.Rebuilt();

        var states = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        int machineCount = r.Count("machine count", 2);
        string? previousName = null;
        for (int i = 0; i < machineCount; i++)
        {
            string name = r.String("machine name");
            if (previousName is not null && string.CompareOrdinal(previousName, name) >= 0) throw r.Malformed($"machines out of order at {name}");
            previousName = name;
            states[name] = r.LengthPrefixed("machine state").ToArray();
        }
        r.EnsureEnd();

        foreach (var m in _members)
        {
            if (states.Remove(m.Registration.Name, out var state)) RestoreMember(m, state);
            else
            {
                _log?.Error("{0}: the state installed for slot {1} holds nothing of the state machine '{2}' (role {3}): it was taken " +
                            "on a node that does not run that role. '{2}' starts empty here and misses every command before. A role that " +
                            "owns replicated state must run on every learner node (README, \"Adding a role\").",
                    _node, appliedSlot + 1, m.Registration.Name, m.Registration.Role);
                m.Machine = Build(m);
            }
        }
        foreach (var name in states.Keys)
            _log?.Error("{0}: the state installed for slot {1} holds the state machine '{2}', which no role on this node registers; " +
                        "its state is dropped here. A role that owns replicated state must run on every learner node.", _node, appliedSlot + 1, name);
        _sessions = sessions;
        _appliedSlot = appliedSlot;
        _appliedKnown = true;
        RefreshObservers();
    }

    private void RestoreUnframed(ReadOnlySpan<byte> snapshot)
    {
        var owner = _unframedOwner
                    ?? throw new FormatException($"Malformed {SnapshotWhat}: it does not start with the marker 0x{SnapshotMarker:X2} " +
                                                 "and no state machine here reads the snapshots of older logs");
        foreach (var m in _members) m.Machine = ReferenceEquals(m, owner) ? m.Machine : Build(m);
        RestoreMember(owner, snapshot);
        _sessions = new SessionTable<ReadOnlyMemory<byte>>(_sessions.ExpirySlots);
        _appliedKnown = false; // the old format's slot is the owner's business; the next slot applied tells
        RefreshObservers();
    }

    private void RestoreMember(Member m, ReadOnlySpan<byte> state)
    {
        try
        {
            m.Machine.RestoreSnapshot(state);
        }
        catch (Exception e)
        {
            throw new FormatException($"the state machine '{m.Registration.Name}' (role {m.Registration.Role}) cannot restore its snapshot: {e.Message}", e);
        }
    }

    private static IReplicatedStateMachine Build(Member m) =>
        m.Registration.Create() ?? throw new InvalidOperationException($"the factory of the state machine '{m.Registration.Name}' returned null");

    private void RefreshObservers() => _observers = _members.Select(m => m.Machine).OfType<IObservingStateMachine>().ToList();

    private sealed class Member(StateMachineRegistration registration)
    {
        public StateMachineRegistration Registration { get; } = registration;
        public IReplicatedStateMachine Machine { get; set; } = null!;
    }
}
