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
    private readonly Learner _learner;
    private readonly RoleDirectory _directory;
    private readonly TimeSpan _tick;
    private readonly Address _self;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public LearnerActor(int nodeId, Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        RoleDirectory directory, TimeSpan tick)
    {
        _learner = create(stateMachine(Context));
        _directory = directory;
        _tick = tick;
        _self = Address.Learner(nodeId);
        PersistenceId = $"learner-{nodeId}";

        Recover<Learned>(_learner.Recover);

        Command<Accepted>(a => Step(() => _learner.Handle(a)));
        Command<Accept>(a => Step(() => _learner.Handle(a)));
        Command<Chosen>(c => Step(() => _learner.Handle(c)));
        Command<ChosenRange>(r => Step(() => _learner.Handle(r)));
        Command<CatchUp>(r => Step(() => _learner.Handle(r)));
        Command<Heartbeat>(h => Step(() => _learner.Handle(h)));
        Command<Tick>(_ => Step(_learner.Tick));
        Command<GetLearnerStatus>(_ => Sender.Tell(new LearnerStatus(nodeId, _learner.NextToApply, _learner.HighestDecided)));
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int nodeId, Func<IStateMachine, Learner> create, Func<IActorContext, IStateMachine> stateMachine,
        RoleDirectory directory, TimeSpan tick) =>
        Akka.Actor.Props.Create(() => new LearnerActor(nodeId, create, stateMachine, directory, tick));

    protected override void OnReplaySuccess()
    {
        _log.Info("learner {0} recovered: {1} slots applied", _learner.Id, _learner.NextToApply);
        Timers.StartPeriodicTimer("tick", Tick.Instance, _tick);
    }

    private void Step(Action handle)
    {
        handle();
        var ready = _learner.TakeReady();
        if (ready.Events.Count > 0) PersistAllAsync(ready.Events, _ => { });
        _directory.SendAll(_self, ready.Messages, Self);
    }
}
