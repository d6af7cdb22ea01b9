using System.Text;
using Akka.Actor;
using Akka.TestKit;
using PaxosActors.Actors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Replication;
using PaxosActors.Routing;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Replication;

/// <summary>The applied stream as a real learner actor feeds it: live slots, then, after a restart, its journal and its
/// snapshot again, flagged as replayed.</summary>
public sealed class LearnerReplaySpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly AgentDirectory _directory = new();
    private readonly TestProbe _proposer;

    private readonly string _database;

    public LearnerReplaySpec() : this(TestConfig.NewDatabasePath()) { }

    private LearnerReplaySpec(string database) : base(TestConfig.WithJournal(database))
    {
        _database = database;
        _proposer = CreateTestProbe();
        _directory.Register(AgentId.Proposer(1), _proposer);
        _directory.Register(AgentId.Learner(2), CreateTestProbe());
    }

    private sealed class Notes : IReplicatedStateMachine
    {
        private readonly List<string> _notes = new();
        public CommandResult Apply(ReplicatedCommand command)
        {
            _notes.Add(Encoding.UTF8.GetString(command.Payload.Span));
            return CommandResult.Empty;
        }
        public byte[] TakeSnapshot() => Encoding.UTF8.GetBytes(string.Join("|", _notes));
        public void RestoreSnapshot(ReadOnlySpan<byte> state)
        {
            _notes.Clear();
            if (state.Length > 0) _notes.AddRange(Encoding.UTF8.GetString(state).Split('|'));
        }
    }

    private static SlotValue Note(string text) => SlotValue.Of(CommandFrame.Encode("notes", Encoding.UTF8.GetBytes(text)));

    /// <summary>Learner 1 with the composite of one "notes" machine, its applied stream told to <paramref name="subscriber"/>.</summary>
    private IActorRef StartLearner(TestProbe subscriber, int snapshotEvery)
    {
        var registry = new StateMachineRegistry();
        registry.Register("notes", () => new Notes());
        var stream = new AppliedStream();
        stream.Subscribe(subscriber);
        stream.Open();
        var learner = Sys.ActorOf(LearnerActor.Props(
            _ => new Learner(1, new QuorumSet([1, 2, 3]), [1, 2], new LearnerOptions { SnapshotEvery = snapshotEvery, CompactAcceptor = false }),
            _ => new CompositeStateMachine(registry.Registrations, 1000, stream), _directory, TimeSpan.FromMilliseconds(10)));
        _proposer.FishForMessage(m => m is LocalDelivery { Input: LearnerProgress });
        return learner;
    }

    /// <summary>Stops the learner once its journal holds the first <paramref name="slots"/> slots (it writes them in
    /// groups, on a tick) and, with <paramref name="snapshot"/>, a snapshot.</summary>
    private async Task StopAsync(IActorRef learner, long slots, bool snapshot = false)
    {
        await AwaitAssertAsync(() =>
        {
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_database}");
            db.Open();
            long Scalar(string sql)
            {
                using var command = db.CreateCommand();
                command.CommandText = sql;
                return command.ExecuteScalar() is long n ? n : 0;
            }
            long written = Math.Max(
                Scalar("SELECT MAX(sequence_nr) FROM paxos_journal WHERE persistence_id = 'learner-1'"),
                Scalar("SELECT MAX(deleted_to) FROM paxos_journal_deleted WHERE persistence_id = 'learner-1'"));
            Assert.True(written >= slots, $"{written} of {slots} learned slots journaled");
            if (snapshot) Assert.True(Scalar("SELECT COUNT(*) FROM paxos_snapshot WHERE persistence_id = 'learner-1'") > 0);
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(20));
        Watch(learner);
        learner.Tell(PoisonPill.Instance);
        ExpectTerminated(learner);
    }

    [Fact]
    public async Task Slots_applied_live_come_again_flagged_replayed_when_the_learner_recovers_from_its_journal()
    {
        var subscriber = CreateTestProbe();
        var learner = StartLearner(subscriber, snapshotEvery: 0);
        learner.Tell(new Chosen(0, Note("a")));
        learner.Tell(new Chosen(1, Note("b")));
        Assert.Equal((0L, false), Of(subscriber.ExpectMsg<SlotApplied>()));
        Assert.Equal((1L, false), Of(subscriber.ExpectMsg<SlotApplied>()));
        await StopAsync(learner, slots: 2);

        var again = CreateTestProbe();
        var restarted = StartLearner(again, snapshotEvery: 0);
        Assert.Equal((0L, true), Of(again.ExpectMsg<SlotApplied>()));
        Assert.Equal((1L, true), Of(again.ExpectMsg<SlotApplied>()));
        restarted.Tell(new Chosen(2, Note("c")));
        var live = again.ExpectMsg<SlotApplied>();
        Assert.Equal((2L, false), Of(live));
        Assert.Equal("notes", Assert.Single(live.Commands).StateMachine);
    }

    [Fact]
    public async Task A_recovered_snapshot_is_one_replayed_StateInstalled_and_only_the_slots_after_it_are_replayed()
    {
        var subscriber = CreateTestProbe();
        var learner = StartLearner(subscriber, snapshotEvery: 2);
        for (int slot = 0; slot < 3; slot++) learner.Tell(new Chosen(slot, Note($"n{slot}")));
        for (int slot = 0; slot < 3; slot++) subscriber.ExpectMsg<SlotApplied>();
        await StopAsync(learner, slots: 3, snapshot: true);

        var again = CreateTestProbe();
        StartLearner(again, snapshotEvery: 2);
        var installed = again.ExpectMsg<StateInstalled>();
        Assert.Equal((2L, InstallSource.Snapshot, true), (installed.NextSlot, installed.Source, installed.Replayed));
        Assert.Equal((2L, true), Of(again.ExpectMsg<SlotApplied>()));
        again.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_peers_state_that_holds_nothing_of_a_machine_this_node_runs_is_refused_and_one_that_does_is_installed()
    {
        var subscriber = CreateTestProbe();
        var learner = StartLearner(subscriber, snapshotEvery: 0);
        var elsewhere = new StateMachineRegistry();
        elsewhere.Register("other", () => new Notes());
        byte[] lacking = new CompositeStateMachine(elsewhere.Registrations, 1000).TakeSnapshot();
        var here = new StateMachineRegistry();
        here.Register("notes", () => new Notes());
        byte[] complete = new CompositeStateMachine(here.Registrations, 1000).TakeSnapshot();

        EventFilter.Error(contains: "it holds nothing of the state machine(s) notes").ExpectOne(() => learner.Tell(new StateTransfer(5, lacking)));
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        learner.Tell(new StateTransfer(5, complete));

        var installed = subscriber.ExpectMsg<StateInstalled>();
        Assert.Equal((5L, InstallSource.StateTransfer, false), (installed.NextSlot, installed.Source, installed.Replayed));
    }

    private static (long, bool) Of(SlotApplied slot) => (slot.Slot, slot.Replayed);
}
