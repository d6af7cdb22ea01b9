using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

namespace PaxosActors.Actors;

/// <summary>Asks a proposer where it stands; answered with <see cref="ProposerStatus"/>.</summary>
public sealed class GetProposerStatus : INoSerializationVerificationNeeded
{
    public static readonly GetProposerStatus Instance = new();
    private GetProposerStatus() { }
}

/// <summary>Asks this node's proposer for a read point (read index); answered with <see cref="ReadPointGranted"/> once
/// the leader confirmed it still leads, or not at all (ask again after a while). Local only.</summary>
public sealed class ReadPointRequest : INoSerializationVerificationNeeded
{
    public static readonly ReadPointRequest Instance = new();
    private ReadPointRequest() { }
}

/// <summary>Serve the read from this node's state machine once it has applied every slot below <paramref name="Point"/>:
/// it then reflects every slot chosen before the read was asked for.</summary>
public sealed record ReadPointGranted(long Point) : INoSerializationVerificationNeeded;

/// <summary>A proposer's view, for tests and /status.</summary>
public sealed record ProposerStatus(int Node, ProposerPhase Phase, Ballot Ballot, long MaxRound, int? Leader,
    long FirstUnchosen, long NextSlot, int Pending, int InFlight, int Failures) : INoSerializationVerificationNeeded;

/// <summary>
/// The shell around <see cref="Proposer"/>: the round it reserves is durable before the Prepare that uses it leaves
/// (<see cref="AgentActor{TAgent}"/>), so a restarted proposer never reuses a ballot; one that recovers no round asks
/// the acceptors first (the core's <see cref="ProposerPhase.Discovering"/>). Its randomness is seeded here.
/// </summary>
public sealed class ProposerActor : AgentActor<Proposer>
{
    private const int SnapshotEvery = 1000;
    private int? _leader;
    private long _retries;
    private static readonly TimeSpan ReadForgottenAfter = TimeSpan.FromMinutes(1);

    private readonly Dictionary<long, (IActorRef Asker, DateTime At)> _readers = new();
    private long _nextRead;
    private long _ticks;

    public ProposerActor(Func<Random, Proposer> create, AgentDirectory directory, TimeSpan tick)
        : base(create(new Random(Random.Shared.Next())), directory, tick)
    {
        Command<GetProposerStatus>(_ => Sender.Tell(Status()));
        Command<ReadPointRequest>(_ =>
        {
            long id = ++_nextRead;
            _readers[id] = (Sender, DateTime.UtcNow);
            Step(new ReadIndex(id));
        });
        Command<SaveSnapshotSuccess>(ok => DeleteMessages(ok.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => Log.Warning(f.Cause, "proposer snapshot failed; the journal keeps every round"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public static Props Props(Func<Random, Proposer> create, AgentDirectory directory, TimeSpan tick) =>
        Akka.Actor.Props.Create(() => new ProposerActor(create, directory, tick));

    protected override void OnDurable(IJournalRecord record)
    {
        // Only the highest round matters: a snapshot of it lets the rounds before it go.
        if (LastSequenceNr % SnapshotEvery == 0 && PendingWrites == 0) SaveSnapshot(new RoundReserved(Agent.MaxRound));
    }

    /// <summary>Each Accept to this node's own learner is one slot proposed (the same Accept goes to the acceptors).</summary>
    protected override void Observe(Ready ready)
    {
        var own = AgentId.Learner(Agent.Node);
        var messages = ready.Messages;
        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not { Message: Accept accept } m || m.To != own) continue;
            Metrics.Proposals.Add(1);
            Metrics.ProposalCommands.Record(accept.Value.Commands.Length);
        }
    }

    protected override void AfterStep()
    {
        if (Agent.Leader != _leader)
        {
            if (Agent.Leader is not null) Metrics.LeaderChanges.Add(1);
            _leader = Agent.Leader;
            Directory.Leader = _leader;
        }
        long retries = Agent.BackoffRetries;
        if (retries != _retries)
        {
            Metrics.BackoffRetries.Add(retries - _retries);
            _retries = retries;
        }
        Metrics.Proposer(Agent.Ballot.Round, Agent.Leader);
    }

    protected override void HandOutReads(IReadOnlyList<ReadState> reads)
    {
        foreach (var read in reads)
            if (_readers.Remove(read.Id, out var reader)) reader.Asker.Tell(new ReadPointGranted(read.Point));
    }

    protected override void BeforeStep(IInput input)
    {
        // The core forgets a read it could not serve after a while, and the asker has given up long before: forget it too.
        if (input is not Tick || ++_ticks % 1000 != 0 || _readers.Count == 0) return;
        var before = DateTime.UtcNow - ReadForgottenAfter;
        foreach (var (id, reader) in _readers.ToList())
            if (reader.At < before) _readers.Remove(id);
    }

    protected override void PostStop()
    {
        Directory.Leader = null; // a restarted proposer learns the leader again
        base.PostStop();
    }

    private ProposerStatus Status() => new(Agent.Node, Agent.Phase, Agent.Ballot, Agent.MaxRound,
        Agent.Leader, Agent.FirstUnchosen, Agent.NextSlot, Agent.PendingCount, Agent.InFlightCount, Agent.Failures);
}
