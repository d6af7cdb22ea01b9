using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

using Address = PaxosActors.Core.Protocol.Address;
using Envelope = PaxosActors.Core.Protocol.Envelope;

namespace PaxosActors.Actors;

/// <summary>Asks a proposer where it stands; answered with <see cref="ProposerStatus"/>.</summary>
public sealed class GetProposerStatus : INoSerializationVerificationNeeded
{
    public static readonly GetProposerStatus Instance = new();
    private GetProposerStatus() { }
}

/// <summary>A proposer's view, for tests and /status.</summary>
public sealed record ProposerStatus(int Node, ProposerPhase Phase, Ballot Ballot, long MaxRound, int? Leader,
    long FirstUnchosen, long NextSlot, int Pending, int InFlight, int Failures) : INoSerializationVerificationNeeded;

/// <summary>
/// The shell around <see cref="Proposer"/>. It persists the highest round before any Prepare that
/// uses it (so a restarted proposer never reuses a ballot), then sends; it drives the core's clock. It tells
/// the core whether recovery found a journaled round: without one, the core first asks the acceptors
/// (<see cref="ProposerPhase.Discovering"/>), so that a lost journal cannot make it reuse a ballot either.
/// </summary>
public sealed class ProposerActor : ReceivePersistentActor, IWithTimers
{
    private readonly Proposer _proposer;
    private readonly RoleDirectory _directory;
    private readonly TimeSpan _tick;
    private readonly Address _self;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private bool _flushQueued;
    private bool _recoveredAnything;

    public ProposerActor(int nodeId, Func<Random, Proposer> create, RoleDirectory directory, TimeSpan tick)
    {
        _proposer = create(new Random(Random.Shared.Next()));
        _directory = directory;
        _tick = tick;
        _self = Address.Proposer(nodeId);
        PersistenceId = $"proposer-{nodeId}";

        Recover<RoundReserved>(evt =>
        {
            _recoveredAnything = true;
            _proposer.Apply(evt);
        });
        Recover<SnapshotOffer>(offer =>
        {
            _recoveredAnything = true;
            _proposer.Apply((RoundReserved)offer.Snapshot);
        });

        Command<Propose>(p => Step(() => _proposer.Handle(p)));
        Command<Promise>(p => Step(() => _proposer.Handle(p)));
        Command<Nack>(n => Step(() => _proposer.Handle(n)));
        Command<Chosen>(c => Step(() => _proposer.Handle(c)));
        Command<Heartbeat>(h => Step(() => _proposer.Handle(h)));
        Command<RoundReport>(r => Step(() => _proposer.Handle(r)));
        Command<Tick>(_ => Step(_proposer.Tick));
        Command<FlushForwards>(_ =>
        {
            _flushQueued = false;
            Step(_proposer.FlushForwards);
        });
        Command<LearnerStatus>(s => _proposer.LearnerCaughtUp(s.NextToApply));
        Command<GetProposerStatus>(_ => Sender.Tell(Status()));
        Command<SaveSnapshotSuccess>(ok => DeleteMessages(ok.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(_ => { });
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int nodeId, Func<Random, Proposer> create, RoleDirectory directory, TimeSpan tick) =>
        Akka.Actor.Props.Create(() => new ProposerActor(nodeId, create, directory, tick));

    protected override void OnReplaySuccess()
    {
        if (_recoveredAnything)
            _log.Info("proposer {0} recovered: highest round used {1}", _proposer.Id, _proposer.MaxRound);
        else
            _log.Info("proposer {0} has no journaled round (a new node, or its journal was lost): asking the " +
                      "acceptors for their promises before its first Prepare", _proposer.Id);
        Timers.StartPeriodicTimer("tick", Tick.Instance, _tick);
        Step(() => _proposer.Recovered(journalEmpty: !_recoveredAnything));
        // Learn how much of the log this node already has, so a restarted leader does not re-run it.
        _directory.Resolve(Address.Learner(_proposer.Id))?.Tell(GetLearnerStatus.Instance, Self);
    }

    private void Step(Action handle)
    {
        handle();
        if (_proposer.HasForwards && !_flushQueued)
        {
            // Behind the messages already in the mailbox: whatever arrives in one burst leaves as one batch.
            _flushQueued = true;
            Self.Tell(FlushForwards.Instance);
        }
        var ready = _proposer.TakeReady();
        if (ready.Events.Count == 0)
        {
            _directory.SendAll(_self, ready.Messages, Self);
            return;
        }
        // Only the last reservation matters: it is the highest. Persist stashes incoming messages
        // until the handler has run, so nothing overtakes the Prepare it guards.
        Persist(ready.Events[^1], evt =>
        {
            _directory.SendAll(_self, ready.Messages, Self);
            if (LastSequenceNr % 1000 == 0) SaveSnapshot(evt);
        });
    }

    private sealed class FlushForwards : INoSerializationVerificationNeeded
    {
        public static readonly FlushForwards Instance = new();
    }

    private ProposerStatus Status() => new(_proposer.Id, _proposer.Phase, _proposer.Ballot, _proposer.MaxRound,
        _proposer.Leader, _proposer.FirstUnchosen, _proposer.NextSlot, _proposer.PendingCount, _proposer.InFlightCount,
        _proposer.Failures);
}
