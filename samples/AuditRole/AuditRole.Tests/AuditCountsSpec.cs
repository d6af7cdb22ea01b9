using System.Text;
using Akka.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Kv;
using PaxosActors.Kv.Hosting;
using PaxosActors.Replication;
using Samples.Audit;

namespace AuditRole.Tests;

/// <summary>The audit counts as the node's learner drives them: through the composite state machine, with the key-value
/// store and a machine of its own beside them.</summary>
public sealed class AuditCountsSpec
{
    private const ulong Session = 99;
    private long _slot;

    private CompositeStateMachine NewNode(out AuditView view)
    {
        var v = view = new AuditView();
        var kv = new KvService(KvSettings.Create(ConfigurationFactory.Empty), clientId: 7);
        var registry = new StateMachineRegistry();
        registry.Register("kv", kv.CreateReplicatedStateMachine, ownsUnframedCommands: true);
        registry.Register("notes", () => new Notes());
        registry.Register(Samples.Audit.AuditRole.RoleName, () => new AuditCounts(v));
        return new CompositeStateMachine(registry.Registrations, sessionExpirySlots: 1000);
    }

    private static byte[] Kv(ulong client, long seq, string key) =>
        CommandFrame.Encode("kv", KvCodec.Encode(new KvCommand.Put(new CommandId(client, seq), 0, key, "v"u8.ToArray())));

    private static byte[] Note(long seq, string text) =>
        CommandFrame.Encode("notes", Encoding.UTF8.GetBytes(text), new ClientCommandId(Session, seq), ackedBelow: 0);

    private void Slot(CompositeStateMachine node, params byte[][] commands) => node.Apply(_slot++, SlotValue.Of(commands));

    [Fact]
    public void Every_applied_command_is_counted_once_per_state_machine()
    {
        var node = NewNode(out var view);
        Slot(node, Kv(1, 1, "a"), Note(1, "hello"), Kv(1, 2, "b"));
        Slot(node);
        Slot(node, Note(2, "again"));

        Assert.Equal(new Dictionary<string, long> { ["kv"] = 2, ["notes"] = 2 }, view.Current.ByStateMachine);
        Assert.Equal(4, view.Current.Total);
        Assert.Equal(2, view.Current.AppliedSlot);
    }

    [Fact]
    public void A_retried_command_is_counted_once_whichever_sessions_make_it_exactly_once()
    {
        var node = NewNode(out var view);
        // The KV store's own sessions, and the shell's for commands submitted through CommandClient.
        Slot(node, Kv(1, 1, "a"), Note(1, "hello"));
        Slot(node, Kv(1, 1, "a"));                 // a KV retry in a later slot
        Slot(node, Note(1, "hello"), Note(1, "hello")); // two copies of a retried note

        Assert.Equal(new Dictionary<string, long> { ["kv"] = 1, ["notes"] = 1 }, view.Current.ByStateMachine);
    }

    [Fact]
    public void Counts_survive_a_restart_from_a_snapshot_and_a_journal_replay_without_counting_twice()
    {
        var before = NewNode(out _);
        Slot(before, Kv(1, 1, "a"), Note(1, "one"));
        byte[] snapshot = before.TakeSnapshot();
        long snapshotAt = _slot;
        var journal = new List<SlotValue> { SlotValue.Of(Kv(1, 2, "b")), SlotValue.Of(Note(2, "two"), Note(2, "two")) };
        foreach (var value in journal) before.Apply(_slot++, value);

        // A restart: a new learner restores the snapshot, then replays its journal (from an earlier slot than the
        // snapshot's, as a journal that was not yet compacted would).
        var after = NewNode(out var view);
        after.RestoreSnapshot(snapshot);
        after.Apply(snapshotAt - 1, SlotValue.Of(Kv(1, 1, "a"), Note(1, "one"))); // already in the snapshot: ignored
        for (int i = 0; i < journal.Count; i++) after.Apply(snapshotAt + i, journal[i]);

        Assert.Equal(new Dictionary<string, long> { ["kv"] = 2, ["notes"] = 2 }, view.Current.ByStateMachine);
        Assert.Equal(before.TakeSnapshot(), after.TakeSnapshot());
    }

    [Fact]
    public void Replicas_fed_the_same_log_take_the_same_snapshot()
    {
        var one = NewNode(out _);
        var two = NewNode(out _);
        foreach (var node in new[] { one, two })
        {
            node.Apply(0, SlotValue.Of(Kv(1, 1, "a"), Note(1, "x")));
            node.Apply(1, SlotValue.Of(Note(2, "y")));
        }
        Assert.Equal(one.TakeSnapshot(), two.TakeSnapshot());
    }

    /// <summary>A machine of its own: it keeps the notes it is sent.</summary>
    private sealed class Notes : IReplicatedStateMachine
    {
        private readonly List<string> _notes = new();

        public CommandResult Apply(ReplicatedCommand command)
        {
            _notes.Add(Encoding.UTF8.GetString(command.Payload.Span));
            return CommandResult.Empty;
        }

        public byte[] TakeSnapshot() => Encoding.UTF8.GetBytes(string.Join("\n", _notes));

        public void RestoreSnapshot(ReadOnlySpan<byte> state)
        {
            _notes.Clear();
            if (state.Length > 0) _notes.AddRange(Encoding.UTF8.GetString(state).Split('\n'));
        }
    }
}
