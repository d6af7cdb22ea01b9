using System.Text;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit.Xunit2;
using PaxosActors.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Replication;

namespace PaxosActors.Tests.Replication;

/// <summary>
/// What a node's learner applies to: every registered state machine by name, exactly once per command, the applied
/// stream fed per slot, and one snapshot that holds them all.
/// </summary>
public sealed class CompositeStateMachineSpec : TestKit
{
    private const ulong Mine = 7;
    private readonly AppliedStream _stream;
    private readonly CommandClient _client;
    private readonly Akka.TestKit.TestProbe _subscriber;

    public CompositeStateMachineSpec() : base("akka.loglevel = WARNING")
    {
        _stream = new AppliedStream(Sys);
        _subscriber = CreateTestProbe();
        _stream.Subscribe(_subscriber);
        _stream.Open();
        _client = new CommandClient(CommandSettings.Create(PaxosSettings.DefaultConfig), session: Mine);
    }

    /// <summary>A machine that appends what it is sent and answers with how many it holds; "boom" throws.</summary>
    private sealed class Journal : IReplicatedStateMachine
    {
        public List<string> Entries { get; } = new();
        public List<long> SlotsEnded { get; } = new();

        public CommandResult Apply(ReplicatedCommand command)
        {
            string text = Encoding.UTF8.GetString(command.Payload.Span);
            if (text == "boom") throw new InvalidOperationException("boom");
            if (text == "skip") return CommandResult.Skip;
            Entries.Add(text);
            return Encoding.UTF8.GetBytes($"{Entries.Count}");
        }

        public void OnSlotApplied(long slot) => SlotsEnded.Add(slot);

        public byte[] TakeSnapshot() => Encoding.UTF8.GetBytes(string.Join("|", Entries));

        public void RestoreSnapshot(ReadOnlySpan<byte> state)
        {
            Entries.Clear();
            if (state.Length > 0) Entries.AddRange(Encoding.UTF8.GetString(state).Split('|'));
        }
    }

    /// <summary>Counts the commands of the other machines.</summary>
    private sealed class Watcher : IObservingStateMachine
    {
        public List<string> Seen { get; } = new();
        public CommandResult Apply(ReplicatedCommand command) => CommandResult.Skip;
        public void Observe(AppliedCommand command, long slot) => Seen.Add($"{slot}:{command.StateMachine}:{Encoding.UTF8.GetString(command.Payload.Span)}");
        public byte[] TakeSnapshot() => Encoding.UTF8.GetBytes(string.Join("|", Seen));

        public void RestoreSnapshot(ReadOnlySpan<byte> state)
        {
            Seen.Clear();
            if (state.Length > 0) Seen.AddRange(Encoding.UTF8.GetString(state).Split('|'));
        }
    }

    private readonly Dictionary<string, List<object>> _built = new();

    private CompositeStateMachine Node(ILoggingAdapter? log = null, params string[] names)
    {
        var registry = new StateMachineRegistry();
        foreach (string name in names.Length == 0 ? ["a", "b"] : names)
            registry.Register(name, () =>
            {
                IReplicatedStateMachine m = name == "watch" ? new Watcher() : new Journal();
                (_built.TryGetValue(name, out var list) ? list : _built[name] = new()).Add(m);
                return m;
            });
        return new CompositeStateMachine(registry.Registrations, 1000, _stream, _client, log ?? Sys.Log, nodeId: 1);
    }

    private static byte[] To(string machine, string text) => CommandFrame.Encode(machine, Encoding.UTF8.GetBytes(text));

    private static byte[] Session(string machine, string text, ulong session, long seq, long acked = 0) =>
        CommandFrame.Encode(machine, Encoding.UTF8.GetBytes(text), new ClientCommandId(session, seq), acked);

    private static List<string> Entries(CompositeStateMachine node, string name) => ((Journal)node.Machine(name)!).Entries;

    [Fact]
    public void Each_command_goes_to_the_state_machine_its_frame_names_in_log_order()
    {
        var node = Node();
        node.Apply(0, SlotValue.Of(To("a", "1"), To("b", "2"), To("a", "3")));

        Assert.Equal(["1", "3"], Entries(node, "a"));
        Assert.Equal(["2"], Entries(node, "b"));
        Assert.Equal([0L], ((Journal)node.Machine("b")!).SlotsEnded); // every machine hears every slot end
    }

    [Fact]
    public void The_applied_stream_gets_each_slot_with_its_commands_and_results_even_an_empty_one()
    {
        var node = Node();
        node.Apply(0, SlotValue.Of(To("a", "x"), To("b", "y")));
        node.Apply(1, SlotValue.NoOp);
        node.Apply(2, SlotValue.Of(To("a", "z")), replayed: true);

        var first = _subscriber.ExpectMsg<SlotApplied>();
        Assert.Equal((0L, false), (first.Slot, first.Replayed));
        Assert.Equal(["a:x=1", "b:y=1"], first.Commands.Select(Describe));
        Assert.Empty(_subscriber.ExpectMsg<SlotApplied>().Commands);
        var replayed = _subscriber.ExpectMsg<SlotApplied>();
        Assert.Equal((2L, true), (replayed.Slot, replayed.Replayed));
        Assert.Equal(["a:z=2"], replayed.Commands.Select(Describe));
    }

    private static string Describe(AppliedCommand c) =>
        $"{c.StateMachine}:{Encoding.UTF8.GetString(c.Payload.Span)}={Encoding.UTF8.GetString(c.Result.Span)}";

    [Fact]
    public async Task A_retried_session_command_is_applied_once_reported_once_and_every_copy_answered_with_the_first_result()
    {
        var node = Node();
        var proposer = CreateTestProbe();
        _client.Attach(proposer);
        var submitted = _client.SubmitAsync("a", Encoding.UTF8.GetBytes("once"));
        byte[] frame = proposer.ExpectMsg<Propose>().Commands.Commands[0].ToArray();

        // The client's copies (a retry, and one proposed twice in a batch) all reach the log.
        node.Apply(0, SlotValue.Of(frame, frame));
        node.Apply(1, SlotValue.Of(To("a", "other")));
        node.Apply(2, SlotValue.Of(frame));

        Assert.Equal("1", Encoding.UTF8.GetString((await submitted).Span));
        Assert.Equal(["once", "other"], Entries(node, "a"));
        var reported = new[] { _subscriber.ExpectMsg<SlotApplied>(), _subscriber.ExpectMsg<SlotApplied>(), _subscriber.ExpectMsg<SlotApplied>() }
            .SelectMany(s => s.Commands).ToList();
        Assert.Equal(["a:once=1", "a:other=2"], reported.Select(Describe));
        Assert.Equal(new ClientCommandId(Mine, 1), reported[0].Id);
        Assert.Equal(1, node.SessionCount);
    }

    [Fact]
    public void A_command_below_its_sessions_acknowledgement_is_dropped_unapplied()
    {
        var node = Node();
        node.Apply(0, SlotValue.Of(Session("a", "one", 9, 1), Session("a", "two", 9, 2, acked: 2)));
        node.Apply(1, SlotValue.Of(Session("a", "one", 9, 1))); // a late copy of seq 1

        Assert.Equal(["one", "two"], Entries(node, "a"));
    }

    [Fact]
    public void A_command_for_a_machine_this_node_does_not_run_is_skipped_and_logged_as_an_error_naming_it()
    {
        var node = Node(Sys.Log, "a");
        EventFilter.Error(contains: "the state machine 'locks', which no role on this node registers").ExpectOne(() =>
            node.Apply(0, SlotValue.Of(To("locks", "acquire"), To("a", "fine"))));

        Assert.Equal(["fine"], Entries(node, "a"));
        Assert.Equal(1, node.UnknownCommands["locks"]);
    }

    [Fact]
    public void A_machine_that_throws_loses_its_command_and_nothing_else()
    {
        var node = Node();
        EventFilter.Error(contains: "the state machine 'a'").ExpectOne(() =>
            node.Apply(0, SlotValue.Of(To("a", "boom"), To("b", "fine"), To("a", "after"))));

        Assert.Equal(["after"], Entries(node, "a"));
        Assert.Equal(["fine"], Entries(node, "b"));
        Assert.Equal(1, node.Failures);
    }

    [Fact]
    public void A_skipped_command_is_left_out_of_the_stream_and_of_what_observers_see()
    {
        var node = Node(null, "a", "watch");
        node.Apply(0, SlotValue.Of(To("a", "skip"), To("a", "kept")));

        Assert.Equal(["a:kept=1"], _subscriber.ExpectMsg<SlotApplied>().Commands.Select(Describe));
        Assert.Equal(["0:a:kept"], ((Watcher)node.Machine("watch")!).Seen);
    }

    [Fact]
    public void A_slot_already_in_the_state_is_ignored_and_a_gap_throws()
    {
        var node = Node();
        node.Apply(0, SlotValue.Of(To("a", "x")));
        node.Apply(0, SlotValue.Of(To("a", "x")));
        Assert.Throws<InvalidOperationException>(() => node.Apply(2, SlotValue.Of(To("a", "y"))));
        Assert.Equal(["x"], Entries(node, "a"));
    }

    [Fact]
    public void One_snapshot_holds_every_machine_and_the_sessions_so_a_restored_node_continues_exactly_once()
    {
        var before = Node(null, "a", "b", "watch");
        before.Apply(0, SlotValue.Of(Session("a", "s1", 5, 1), To("b", "plain")));
        byte[] snapshot = before.TakeSnapshot();

        var after = Node(null, "a", "b", "watch");
        after.Install(1, snapshot, InstallSource.StateTransfer, replayed: false);
        after.Apply(1, SlotValue.Of(Session("a", "s1", 5, 1), To("a", "next"))); // the retry is still known as one

        Assert.Equal(["s1", "next"], Entries(after, "a"));
        Assert.Equal(["plain"], Entries(after, "b"));
        Assert.Equal(["0:a:s1", "0:b:plain", "1:a:next"], ((Watcher)after.Machine("watch")!).Seen);
        before.Apply(1, SlotValue.Of(Session("a", "s1", 5, 1), To("a", "next")));
        Assert.Equal(before.TakeSnapshot(), after.TakeSnapshot());
        _subscriber.FishForMessage(m => m is StateInstalled { NextSlot: 1, Source: InstallSource.StateTransfer, Replayed: false });
    }

    [Fact]
    public void A_machine_missing_from_an_installed_snapshot_starts_empty_and_one_not_run_here_is_dropped_both_logged()
    {
        var other = Node(null, "a", "gone");
        other.Apply(0, SlotValue.Of(To("a", "x"), To("gone", "y")));
        byte[] snapshot = other.TakeSnapshot();

        var node = Node(null, "a", "new");
        node.Apply(0, SlotValue.Of(To("new", "will be replaced")));
        EventFilter.Error(contains: "holds nothing of the state machine 'new'").ExpectOne(() =>
            EventFilter.Error(contains: "holds the state machine 'gone'").ExpectOne(() => node.RestoreSnapshot(snapshot)));

        Assert.Equal(["x"], Entries(node, "a"));
        Assert.Empty(Entries(node, "new"));
    }

    [Fact]
    public void A_corrupt_snapshot_is_refused_and_an_older_logs_KV_snapshot_goes_to_the_owner_of_unframed_commands()
    {
        var node = Node();
        byte[] snapshot = node.TakeSnapshot();
        snapshot[^1] ^= 1;
        Assert.Contains("checksum", Assert.Throws<FormatException>(() => node.RestoreSnapshot(snapshot)).Message);
        Assert.Throws<FormatException>(() => node.RestoreSnapshot([1, 2, 3])); // no machine takes an old format here

        var registry = new StateMachineRegistry();
        var legacy = new Journal();
        registry.Register("kv", () => legacy, ownsUnframedCommands: true);
        var kvNode = new CompositeStateMachine(registry.Registrations, 1000);
        kvNode.RestoreSnapshot(Encoding.UTF8.GetBytes("\u0001old"));
        kvNode.Apply(7, SlotValue.Of(Encoding.UTF8.GetBytes("\u0001bare"))); // an unframed command, after an old snapshot at slot 6
        Assert.Equal(["\u0001old", "\u0001bare"], legacy.Entries);
    }

    [Fact]
    public void Two_roles_registering_one_name_fail_the_start_naming_both_and_late_registration_is_refused()
    {
        var registry = new StateMachineRegistry { ConfiguringRole = "first" };
        registry.Register("shared", () => new Journal());
        registry.ConfiguringRole = "second";

        var e = Assert.Throws<Akka.Configuration.ConfigurationException>(() => registry.Register("shared", () => new Journal()));
        Assert.Contains("roles first and second both register the state machine 'shared'", e.Message);
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => registry.Register("bad name", () => new Journal()));
        registry.Seal();
        Assert.Throws<InvalidOperationException>(() => registry.Register("late", () => new Journal()));
    }
}
