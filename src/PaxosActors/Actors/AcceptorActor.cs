using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;
using PaxosActors.Routing;

namespace PaxosActors.Actors;

/// <summary>Asks an acceptor for its state; answered with <see cref="AcceptorState"/>.</summary>
public sealed class GetAcceptorState : INoSerializationVerificationNeeded
{
    public static readonly GetAcceptorState Instance = new();
    private GetAcceptorState() { }
}

/// <summary>A question one node's shell asks another's agent (not a Paxos message: the core never sees it). The
/// serializer is bound to this type.</summary>
public interface IPaxosQuery;

/// <summary>Asks an acceptor, from any node, whether it votes or could; answered with <see cref="VoterState"/>. The operator's
/// membership changes use it: an acceptor votes only once every other acceptor of the set it started with recorded it
/// (<see cref="AcceptorStartup"/>), and one added to the set before that counts in every quorum without voting.</summary>
public sealed record GetVoterState : IPaxosQuery
{
    public static readonly GetVoterState Instance = new();
}

/// <summary>An acceptor's answer to <see cref="GetVoterState"/>. <paramref name="Ready"/>: its state is its own and it
/// would vote (it joined, or recovered its journal); <paramref name="InSet"/>: as far as its node has learned, it is in the
/// acceptor set; <paramref name="State"/>: in words, with what it waits for if it is not ready.</summary>
public sealed record VoterState(int Acceptor, bool Ready, bool InSet, string State) : IPaxosQuery
{
    /// <summary>It votes now.</summary>
    public bool Votes => Ready && InSet;
}

/// <summary>An acceptor's durable state, as seen by tests and /status.</summary>
public sealed record AcceptorState(int Node, Ballot Promised, long CompactedBelow, int Entries, AcceptedEntry? Highest,
    AcceptorMode Mode, string State)
    : INoSerializationVerificationNeeded
{
    public bool Votes => Mode == AcceptorMode.Voting;
}

/// <summary>
/// The shell around <see cref="Acceptor"/>: every promise and vote is persisted before the reply that reveals it
/// leaves (<see cref="AgentActor{TAgent}"/>). It snapshots its whole state every so many events, when memory equals
/// the journal, and reports whether it votes (and why not) to the node's <see cref="NodeHealth"/>. An acceptor whose
/// journal cannot be read does not start (<see cref="PaxosNodeHost"/>).
/// </summary>
public sealed class AcceptorActor : AgentActor<Acceptor>
{
    private readonly int _snapshotEvery;
    private readonly NodeHealth? _health;
    private long _eventsSinceSnapshot;
    private AcceptorMode _reported = AcceptorMode.Recovering;

    public AcceptorActor(int nodeId, AcceptorOptions options, AgentDirectory directory, TimeSpan tick, int snapshotEvery, NodeHealth? health)
        : base(new Acceptor(nodeId, options), directory, tick)
    {
        _snapshotEvery = snapshotEvery;
        _health = health;

        Command<GetAcceptorState>(_ => Sender.Tell(State()));
        Command<GetVoterState>(_ => Sender.Tell(new VoterState(Agent.Node, Agent.Mode == AcceptorMode.Voting, Agent.RemovedFrom is null, Agent.State)));
        Command<SaveSnapshotSuccess>(ok =>
        {
            DeleteMessages(ok.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => Log.Warning(f.Cause, "acceptor snapshot failed; the journal keeps everything"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => Log.Warning(f.Cause, "acceptor journal compaction failed"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public static Props Props(int nodeId, AcceptorOptions options, AgentDirectory directory, TimeSpan tick,
        int snapshotEvery = 10_000, NodeHealth? health = null) =>
        Akka.Actor.Props.Create(() => new AcceptorActor(nodeId, options, directory, tick, snapshotEvery, health));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        string why = $"its journal cannot be read ({reason.GetType().Name}: {reason.Message}); it will not vote. " +
                     "See README, 'Recovering an acceptor'.";
        Log.Error(reason, "acceptor {0}: {1}", Agent.Node, why);
        _health?.SetAcceptor(false, "refusing: " + why);
        Metrics.AcceptorRefusing();
        base.OnRecoveryFailure(reason, message);
    }

    protected override void OnDurable(IJournalRecord record)
    {
        if (++_eventsSinceSnapshot < _snapshotEvery || PendingWrites > 0) return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(Agent.Snapshot()); // only when memory equals what is durable
    }

    protected override void AfterStep()
    {
        Metrics.Acceptor(Agent.Promised.Round, Agent.Mode == AcceptorMode.Voting);
        if (_health is null || (Agent.Mode == _reported && Agent.Mode != AcceptorMode.Starting)) return;
        _reported = Agent.Mode;
        _health.SetAcceptor(Agent.Mode == AcceptorMode.Voting, Agent.State);
    }

    private AcceptorState State() => new(Agent.Node, Agent.Promised, Agent.CompactedBelow, Agent.EntryCount,
        Agent.HighestEntry, Agent.Mode, Agent.State);
}
