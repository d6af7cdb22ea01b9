using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

using Address = PaxosActors.Core.Protocol.Address;
using Envelope = PaxosActors.Core.Protocol.Envelope;

namespace PaxosActors.Actors;

/// <summary>Asks a learner how far it has applied; answered with <see cref="LearnerStatus"/>.</summary>
public sealed class GetLearnerStatus : INoSerializationVerificationNeeded
{
    public static readonly GetLearnerStatus Instance = new();
    private GetLearnerStatus() { }
}

/// <summary>A learner's progress, for tests and /status.</summary>
public sealed record LearnerStatus(int Node, long NextToApply, long HighestDecided) : INoSerializationVerificationNeeded;

/// <summary>
/// The shell around <see cref="Learner"/>: it journals what it learns and applies it to the role's
/// state machine. Its journal is a cache, not a safety requirement: a value is chosen once a quorum
/// of acceptors holds it durably, so announcements and applies do not wait for the learner's own
/// write; a restarted learner recovers what it journaled and fetches the rest from peers.
/// </summary>
public sealed class LearnerActor : ReceivePersistentActor, IWithTimers
{
    // Learned events are a cache (see the class summary), so they are written in groups, not one
    // transaction per slot competing with the acceptor's writes for the same SQLite file.
    private const int JournalGroup = 256;

    private readonly Learner _learner;
    private readonly IStateMachine _stateMachine;
    private readonly RoleDirectory _directory;
    private readonly TimeSpan _tick;
    private readonly int _snapshotEvery;
    private readonly Address _self;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<Learned> _unjournaled = new();
    private readonly Dictionary<long, long> _snapshotsInFlight = new(); // sequence nr -> NextToApply
    private long _snapshotAt;

    public LearnerActor(int nodeId, Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        RoleDirectory directory, TimeSpan tick, int snapshotEvery = 10_000)
    {
        _stateMachine = stateMachine(Context);
        _learner = create(_stateMachine);
        _directory = directory;
        _tick = tick;
        _snapshotEvery = snapshotEvery;
        _self = Address.Learner(nodeId);
        PersistenceId = $"learner-{nodeId}";

        Recover<SnapshotOffer>(offer =>
        {
            var snapshot = (LearnerSnapshot)offer.Snapshot;
            if (_stateMachine is not ISnapshotStateMachine snapshots) return;
            snapshots.RestoreSnapshot(snapshot.State);
            _learner.RestoredFrom(snapshot.NextToApply);
            _snapshotAt = snapshot.NextToApply;
        });
        Recover<Learned>(_learner.Recover);

        Command<Accepted>(a => Step(() => _learner.Handle(a)));
        Command<Accept>(a => Step(() => _learner.Handle(a)));
        Command<Chosen>(c => Step(() => _learner.Handle(c)));
        Command<ChosenRange>(r => Step(() => _learner.Handle(r)));
        Command<CatchUp>(r => Step(() => _learner.Handle(r)));
        Command<StateTransfer>(t => Step(() => _learner.Handle(t)));
        Command<Heartbeat>(h => Step(() => _learner.Handle(h)));
        Command<Tick>(_ =>
        {
            Step(_learner.Tick);
            WriteLearned();
        });
        Command<GetLearnerStatus>(_ => Sender.Tell(Status()));
        Command<SaveSnapshotSuccess>(ok =>
        {
            DeleteMessages(ok.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
            // Every slot below the snapshot is now durably held here: this node's acceptor may forget them.
            if (_snapshotsInFlight.Remove(ok.Metadata.SequenceNr, out long below))
                _directory.Resolve(Address.Acceptor(nodeId))?.Tell(new CompactBelow(below), Self);
        });
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotsInFlight.Remove(f.Metadata.SequenceNr);
            _log.Warning(f.Cause, "learner snapshot failed; the journal keeps everything");
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "learner journal compaction failed"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int nodeId, Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        RoleDirectory directory, TimeSpan tick, int snapshotEvery = 10_000) =>
        Akka.Actor.Props.Create(() => new LearnerActor(nodeId, create, stateMachine, directory, tick, snapshotEvery));

    protected override void OnReplaySuccess()
    {
        _log.Info("learner {0} recovered: {1} slots applied", _learner.Id, _learner.NextToApply);
        Timers.StartPeriodicTimer("tick", Tick.Instance, _tick);
    }

    private void Step(Action handle)
    {
        handle();
        var ready = _learner.TakeReady();
        _unjournaled.AddRange(ready.Events);
        if (_unjournaled.Count >= JournalGroup) WriteLearned();
        _directory.SendAll(_self, ready.Messages, Self);

        if (_learner.InstalledSnapshot)
        {
            // A peer's state replaced ours: what the journal holds no longer leads here. Snapshot it, and
            // tell our proposer how far the log is chosen.
            _learner.InstalledSnapshot = false;
            _unjournaled.Clear();
            SaveLearnerSnapshot();
            _directory.Resolve(Address.Proposer(_learner.Id))?.Tell(Status(), Self);
        }
        else if (_learner.NextToApply - _snapshotAt >= _snapshotEvery)
            SaveLearnerSnapshot();
    }

    private void WriteLearned()
    {
        if (_unjournaled.Count == 0) return;
        PersistAllAsync(_unjournaled.ToArray(), _ => { });
        _unjournaled.Clear();
    }

    private void SaveLearnerSnapshot()
    {
        if (_stateMachine is not ISnapshotStateMachine snapshots) return;
        _snapshotAt = _learner.NextToApply;
        _snapshotsInFlight[LastSequenceNr] = _learner.NextToApply;
        SaveSnapshot(new LearnerSnapshot(_learner.NextToApply, snapshots.TakeSnapshot()));
    }

    private LearnerStatus Status() => new(_learner.Id, _learner.NextToApply, _learner.HighestDecided);
}

/// <summary>From a node's learner to its acceptor: slots below <paramref name="Below"/> are in a durable
/// learner snapshot on this node, so their accepted entries may go.</summary>
public sealed record CompactBelow(long Below) : INoSerializationVerificationNeeded;
