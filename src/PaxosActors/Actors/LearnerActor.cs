using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;
using PaxosActors.Replication;
using PaxosActors.Routing;

namespace PaxosActors.Actors;

/// <summary>Asks a learner how far it has applied; answered with <see cref="LearnerStatus"/>.</summary>
public sealed class GetLearnerStatus : INoSerializationVerificationNeeded
{
    public static readonly GetLearnerStatus Instance = new();
    private GetLearnerStatus() { }
}

/// <summary>A learner's progress, for tests and /status.</summary>
public sealed record LearnerStatus(int Node, long NextToApply, long HighestDecided) : INoSerializationVerificationNeeded
{
    /// <summary>The memberships this learner knows, as of <see cref="NextToApply"/>.</summary>
    public System.Collections.Immutable.ImmutableArray<MembershipEpoch> Memberships { get; init; } =
        System.Collections.Immutable.ImmutableArray<MembershipEpoch>.Empty;

    /// <summary>The first unchosen slot of the leader's latest heartbeat (0: none heard).</summary>
    public long LeaderFirstUnchosen { get; init; }

    /// <summary>Slots known chosen (by this learner or the leader's heartbeat) that it has not applied yet.</summary>
    public long Lag => LagOf(NextToApply, HighestDecided, LeaderFirstUnchosen);

    public static long LagOf(long nextToApply, long highestDecided, long leaderFirstUnchosen) =>
        Math.Max(0, Math.Max(highestDecided + 1, leaderFirstUnchosen) - nextToApply);

    /// <summary>The membership that governs the next slot to apply.</summary>
    public Membership? InForce => Memberships.IsDefaultOrEmpty ? null
        : new MembershipHistory(Memberships, NextToApply).At(NextToApply);

    /// <summary>A change chosen but not in force yet, if any.</summary>
    public MembershipEpoch? Pending => Memberships.IsDefaultOrEmpty || Memberships[^1].EffectiveFrom <= NextToApply
        ? null : Memberships[^1];
}

/// <summary>
/// The shell around <see cref="Learner"/>: it applies what the learner hands out to the node's state machine (a
/// peer's whole state first, when one is installed), stores the snapshots the learner asks for and tells it when one
/// is durable, and sends a far-behind peer the whole state. Its journal is a cache, not a safety requirement: a value
/// is chosen once a quorum of acceptors holds it durably, so its records are written in groups and nothing waits
/// for them; a restarted learner recovers what it journaled and fetches the rest from peers.
/// </summary>
public sealed class LearnerActor : AgentActor<Learner>
{
    // Learned records are a cache (see the class summary), so they are written in groups, not one transaction per
    // slot competing with the acceptor's writes for the same SQLite file.
    private const int JournalGroup = 256;

    private readonly IStateMachine _stateMachine;
    private readonly List<IJournalRecord> _unjournaled = new();
    private readonly Dictionary<long, long> _snapshotsInFlight = new(); // sequence nr -> NextToApply

    public LearnerActor(Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        AgentDirectory directory, TimeSpan tick)
        : base(Build(create, stateMachine(Context), out var built), directory, tick)
    {
        _stateMachine = built;
        Command<GetLearnerStatus>(_ => Sender.Tell(Status()));
        Command<SaveSnapshotSuccess>(ok =>
        {
            DeleteMessages(ok.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
            if (_snapshotsInFlight.Remove(ok.Metadata.SequenceNr, out long nextToApply)) Step(new SnapshotSaved(nextToApply));
        });
        Command<SaveSnapshotFailure>(f =>
        {
            _snapshotsInFlight.Remove(f.Metadata.SequenceNr);
            Log.Warning(f.Cause, "learner snapshot failed; the journal keeps everything");
        });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => Log.Warning(f.Cause, "learner journal compaction failed"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    /// <param name="create">Builds the learner for the state machine (its options say whether it can snapshot).</param>
    /// <param name="stateMachine">Builds this incarnation's state machine: recovery rebuilds it from scratch.</param>
    public static Props Props(Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        AgentDirectory directory, TimeSpan tick) =>
        Akka.Actor.Props.Create(() => new LearnerActor(create, stateMachine, directory, tick));

    private static Learner Build(Func<IStateMachine, Learner> create, IStateMachine stateMachine, out IStateMachine built)
    {
        built = stateMachine;
        return create(stateMachine);
    }

    protected override void OnReplaySuccess() =>
        Log.Info("learner {0} recovered: {1} slots decided from its journal", Agent.Node, Agent.NextToApply);

    /// <summary>A peer's whole state that holds nothing of a state machine this node runs was taken where that role does
    /// not run; installing it would silently empty that machine here. It is refused before the learner sees it, so the
    /// learner asks another peer.</summary>
    protected override bool Admits(IInput input)
    {
        if (input is not StateTransfer transfer || _stateMachine is not CompositeStateMachine composite) return true;
        if (composite.Lacks(transfer.State) is not { Count: > 0 } missing) return true;
        Log.Error("learner {0}: refusing the state for slots below {1} from {2}: it holds nothing of the state machine(s) {3}, " +
                  "which this node runs (the sender does not run the role that owns it). Every role that owns replicated " +
                  "state must run on every learner node (README, \"Adding a role\"); this learner will ask another peer.",
            Agent.Node, transfer.NextToApply, Sender.Path, string.Join(", ", missing));
        return false;
    }

    protected override void BeforeStep(IInput input)
    {
        if (input is not Tick) return;
        WriteLearned();
        ReportProgress(); // a heartbeat moves the lag without a Ready
    }

    protected override void AfterStep() => ReportProgress();

    private void ReportProgress()
    {
        Metrics.Learner(Agent.NextToApply - 1, LearnerStatus.LagOf(Agent.NextToApply, Agent.HighestDecided, Agent.LeaderFirstUnchosen));
    }

    protected override void WriteCache(IReadOnlyList<IJournalRecord> records)
    {
        _unjournaled.AddRange(records);
        if (_unjournaled.Count >= JournalGroup) WriteLearned();
    }

    protected override void ApplyChosen(Ready ready)
    {
        if (ready.Apply.Count > 0) Metrics.ChosenSlots.Add(ready.Apply.Count);
        if (HopTrace.Enabled)
            foreach (var chosen in ready.Apply) HopTrace.Mark("apply", chosen.Slot, Agent.Node);
        if (_stateMachine is IReplayAwareStateMachine aware)
        {
            // The node's composite: it tells the applied stream whether a slot is replayed from this learner's journal.
            if (ready.Install is { } state)
                aware.Install(state.NextToApply, state.State, Replaying ? InstallSource.Snapshot : InstallSource.StateTransfer, Replaying);
            foreach (var chosen in ready.Apply) aware.Apply(chosen.Slot, chosen.Value, Replaying);
        }
        else
        {
            if (ready.Install is { } install) Snapshots.RestoreSnapshot(install.State);
            foreach (var chosen in ready.Apply) _stateMachine.Apply(chosen.Slot, chosen.Value);
        }
        if (ready.SnapshotAt is { } at)
        {
            WriteLearned();
            _snapshotsInFlight[LastSequenceNr] = at;
            SaveSnapshot(new LearnerSnapshot(at, Snapshots.TakeSnapshot()) { Configurations = Agent.Configurations.Epochs });
        }
        if (ready.SendStateTo.Count > 0)
        {
            var transfer = new StateTransfer(Agent.NextToApply, Snapshots.TakeSnapshot()) { Configurations = Agent.Configurations.Epochs };
            foreach (int learner in ready.SendStateTo) Directory.Send(Agent.Id, new Outgoing(AgentId.Learner(learner), transfer), Self);
        }
    }

    /// <summary>The learner asks for snapshots only when its options say the state machine takes them.</summary>
    private ISnapshotStateMachine Snapshots => _stateMachine as ISnapshotStateMachine
        ?? throw new InvalidOperationException($"learner {Agent.Node}: a snapshot was asked of a state machine that cannot take one");

    private void WriteLearned()
    {
        if (_unjournaled.Count == 0) return;
        PersistAllAsync(_unjournaled.ToArray(), _ => JournalWrote());
        _unjournaled.Clear();
    }

    private LearnerStatus Status() =>
        new(Agent.Node, Agent.NextToApply, Agent.HighestDecided)
        {
            Memberships = Agent.Configurations.Epochs,
            LeaderFirstUnchosen = Agent.LeaderFirstUnchosen,
        };
}
