using System.Collections.Immutable;

namespace PaxosActors.Core.Protocol;

/// <summary>Anything an agent writes to its journal and reads back at recovery: events, and snapshots of a whole state.</summary>
public interface IJournalRecord;

/// <summary>How loud a <see cref="Notice"/> is.</summary>
public enum NoticeLevel { Info, Warning, Error }

/// <summary>Something an agent wants an operator to read in the log (a decision about its own safety, typically).</summary>
public sealed record Notice(NoticeLevel Level, string Text);

/// <summary>A value chosen for a slot, for the shell to apply to the state machine.</summary>
public readonly record struct ChosenSlot(long Slot, SlotValue Value);

/// <summary>A read point for the shell's read <paramref name="Id"/> (<see cref="ReadIndex"/>): serve the read from the state
/// machine once it has applied every slot below <paramref name="Point"/>, not before (then it reflects every slot chosen
/// before the read was issued).</summary>
public readonly record struct ReadState(long Id, long Point);

/// <summary>A whole applied state for the shell to install into the state machine: every slot below
/// <paramref name="NextToApply"/> is in it.</summary>
public sealed record StateInstall(long NextToApply, byte[] State);

/// <summary>
/// Everything one step of an agent asks of its shell, etcd/raft's <c>Ready</c> for Paxos: the only way work leaves
/// the core, with nothing to poll or reset afterwards. The shell carries it out in this order:
/// <list type="number">
/// <item><see cref="Persist"/>: write the events, in order. <b><see cref="Messages"/> may leave only once these, and
/// every event of every earlier step, are durable</b> (<see cref="Outbox"/> is that rule, written once).</item>
/// <item><see cref="Cache"/>: write these too when convenient; nothing waits for them, and losing them is harmless.</item>
/// <item><see cref="Install"/>, then <see cref="Apply"/>: replace the state machine's state, then apply each chosen
/// value in order (slots with no gaps, each exactly once).</item>
/// <item><see cref="SnapshotAt"/>: store a snapshot of the state machine, which now holds every slot below it, and
/// step the agent with <see cref="SnapshotSaved"/> once it is durable.</item>
/// <item><see cref="SendStateTo"/>: send each of these learners a <see cref="StateTransfer"/> of the state machine
/// as it now is (after the applies).</item>
/// <item><see cref="FlushWhenIdle"/>: step the agent with <see cref="Flush"/> once the inputs already waiting have
/// been stepped, so that a burst of client commands leaves as one message.</item>
/// <item><see cref="Reads"/>: serve each read once the state machine has applied every slot below its point. Nothing
/// waits for the journal: a read point reveals no event.</item>
/// <item><see cref="Notices"/>: log them.</item>
/// </list>
/// The timers are the shell's one periodic <see cref="Tick"/>; every timeout is counted in ticks by the core.
/// </summary>
public sealed class Ready
{
    public static readonly Ready None = new();

    public IReadOnlyList<IJournalRecord> Persist { get; init; } = [];
    public IReadOnlyList<IJournalRecord> Cache { get; init; } = [];
    public IReadOnlyList<Outgoing> Messages { get; init; } = [];
    public StateInstall? Install { get; init; }
    public IReadOnlyList<ChosenSlot> Apply { get; init; } = [];
    public long? SnapshotAt { get; init; }
    public IReadOnlyList<int> SendStateTo { get; init; } = [];
    public bool FlushWhenIdle { get; init; }
    public IReadOnlyList<ReadState> Reads { get; init; } = [];
    public IReadOnlyList<Notice> Notices { get; init; } = [];

    public bool IsEmpty => ReferenceEquals(this, None);

    public override string ToString() =>
        IsEmpty ? "Ready(none)" :
        $"Ready(persist {Persist.Count}, cache {Cache.Count}, messages {Messages.Count}, install {(Install is null ? "-" : Install.NextToApply)}, " +
        $"apply {Apply.Count}, reads {Reads.Count}, snapshot {SnapshotAt?.ToString() ?? "-"}, state to [{string.Join(",", SendStateTo)}], flush {FlushWhenIdle})";
}

/// <summary>Collects one step's work inside an agent; <see cref="Take"/> hands it over and starts afresh.</summary>
internal sealed class ReadyBuilder
{
    private List<IJournalRecord>? _persist;
    private List<IJournalRecord>? _cache;
    private List<Outgoing>? _messages;
    private StateInstall? _install;
    private List<ChosenSlot>? _apply;
    private long? _snapshotAt;
    private List<int>? _sendStateTo;
    private bool _flush;
    private List<ReadState>? _reads;
    private List<Notice>? _notices;

    public void Persist(IJournalRecord record) => (_persist ??= new()).Add(record);
    public void Cache(IJournalRecord record) => (_cache ??= new()).Add(record);
    public void Send(AgentId to, IInput message) => (_messages ??= new()).Add(new Outgoing(to, message));

    /// <summary>Replaces the state: whatever was to be applied before it is part of it.</summary>
    public void Install(StateInstall install)
    {
        _install = install;
        _apply?.Clear();
    }

    public void Apply(long slot, SlotValue value) => (_apply ??= new()).Add(new ChosenSlot(slot, value));
    public void SnapshotAt(long nextToApply) => _snapshotAt = nextToApply;
    public void SendStateTo(int learner) { if (!(_sendStateTo ??= new()).Contains(learner)) _sendStateTo.Add(learner); }
    public void FlushWhenIdle() => _flush = true;
    public void Read(ReadState read) => (_reads ??= new()).Add(read);
    public void Notice(NoticeLevel level, string text) => (_notices ??= new()).Add(new Notice(level, text));

    public Ready Take()
    {
        if (_persist is null && _cache is null && _messages is null && _install is null && _apply is null &&
            _snapshotAt is null && _sendStateTo is null && !_flush && _reads is null && _notices is null)
            return Ready.None;
        var ready = new Ready
        {
            Persist = _persist ?? (IReadOnlyList<IJournalRecord>)[],
            Cache = _cache ?? (IReadOnlyList<IJournalRecord>)[],
            Messages = _messages ?? (IReadOnlyList<Outgoing>)[],
            Install = _install,
            Apply = _apply ?? (IReadOnlyList<ChosenSlot>)[],
            SnapshotAt = _snapshotAt,
            SendStateTo = _sendStateTo ?? (IReadOnlyList<int>)[],
            FlushWhenIdle = _flush,
            Reads = _reads ?? (IReadOnlyList<ReadState>)[],
            Notices = _notices ?? (IReadOnlyList<Notice>)[],
        };
        _persist = null; _cache = null; _messages = null; _install = null; _apply = null;
        _snapshotAt = null; _sendStateTo = null; _flush = false; _reads = null; _notices = null;
        return ready;
    }
}
