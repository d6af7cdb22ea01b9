using System.Collections.Immutable;
using Akka.Actor;

namespace PaxosActors.Replication;

/// <summary>Where an installed state came from.</summary>
public enum InstallSource
{
    /// <summary>The learner's own snapshot, restored when it recovered (always <c>Replayed</c>).</summary>
    Snapshot,
    /// <summary>A peer's whole state, sent because this learner was behind what the peer still kept slot by slot.</summary>
    StateTransfer,
}

/// <summary>One command of an applied slot, as the applied stream reports it: a command applied for the first time,
/// never a retry of one already applied.</summary>
/// <param name="StateMachine">The name of the state machine it was applied to.</param>
/// <param name="Payload">The role's bytes, without the frame.</param>
/// <param name="Result">What the state machine returned.</param>
/// <param name="Id">Its client session and sequence number, if it was submitted through one.</param>
public sealed record AppliedCommand(string StateMachine, ReadOnlyMemory<byte> Payload, ReadOnlyMemory<byte> Result, ClientCommandId? Id);

/// <summary>
/// A slot this node's learner applied, with the commands applied in it, in log order (a no-op slot, or one holding
/// only retries, has none). <paramref name="Replayed"/>: re-applied from the learner's own journal while it recovered
/// (the node applied it before, in an earlier incarnation); false for a slot applied live.
/// </summary>
public sealed record SlotApplied(long Slot, IReadOnlyList<AppliedCommand> Commands, bool Replayed) : INoSerializationVerificationNeeded;

/// <summary>
/// The learner replaced its whole state with one holding every slot below <paramref name="NextSlot"/>: its snapshot at
/// recovery (<paramref name="Replayed"/>), or a peer's state transfer (live). The commands inside it are not delivered
/// one by one; the next <see cref="SlotApplied"/> is slot <paramref name="NextSlot"/>.
/// </summary>
public sealed record StateInstalled(long NextSlot, InstallSource Source, bool Replayed) : INoSerializationVerificationNeeded;

/// <summary>
/// The applied stream of one node: every slot its learner applies (<see cref="SlotApplied"/>) and every whole state it
/// installs (<see cref="StateInstalled"/>), told to each subscribed actor in order. Any number of roles subscribe
/// (<see cref="Subscribe"/>); none of them can change what the others or the learner see.
/// </summary>
/// <remarks>
/// Guarantees (README, "Adding a role", has the long form):
/// <list type="bullet">
/// <item>Order: one learner incarnation tells each subscriber slots in increasing order without gaps; a
/// <see cref="StateInstalled"/> moves the next slot to its <c>NextSlot</c>.</item>
/// <item>Once per command: a command is reported in the slot that applied it, once; retries never.</item>
/// <item>Per incarnation at most once, across incarnations at least once: a learner that restarts (its actor, the
/// ActorSystem, the process) starts again with its snapshot and replays its journal, flagged <c>Replayed</c>; slots its
/// previous incarnation applied but had not yet journaled come again from peers, unflagged. Deduplicate by slot.</item>
/// <item>What the roles subscribe before the node opens the stream (in <see cref="Hosting.INodeRole.Configure"/> or
/// <see cref="Hosting.INodeRole.Start"/>) includes the recovery; a later subscriber sees from the next slot on.</item>
/// <item>No back-pressure: a slow subscriber's mailbox grows.</item>
/// </list>
/// </remarks>
public sealed class AppliedStream
{
    private readonly Lock _lock = new();
    private readonly IActorRef? _watcher;
    private ImmutableArray<IActorRef> _subscribers = [];
    private List<object>? _held = new();

    /// <param name="system">Where a watcher actor runs that unsubscribes a subscriber when it stops; none without.</param>
    public AppliedStream(IActorRefFactory? system = null)
    {
        if (system is not null) _watcher = system.ActorOf(SubscriberWatcher.Props(this), "applied-stream");
    }

    /// <summary>Whether anything would receive a message now: a subscriber, or the stream still holds messages until
    /// it opens. The learner builds no message when nothing would.</summary>
    public bool Wanted => _held is not null || !_subscribers.IsEmpty;

    /// <summary>The current subscribers.</summary>
    public ImmutableArray<IActorRef> Subscribers => _subscribers;

    /// <summary>Tells <paramref name="subscriber"/> every slot applied from now on (and the recovery, before the node
    /// opens the stream). It is unsubscribed when it stops.</summary>
    public void Subscribe(IActorRef subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_lock)
        {
            if (_subscribers.Contains(subscriber)) return;
            _subscribers = _subscribers.Add(subscriber);
        }
        _watcher?.Tell(new SubscriberWatcher.Watch(subscriber));
    }

    public void Unsubscribe(IActorRef subscriber)
    {
        lock (_lock) _subscribers = _subscribers.Remove(subscriber);
    }

    /// <summary>Tells every subscriber; held until <see cref="Open"/>.</summary>
    internal void Publish(object message)
    {
        lock (_lock)
        {
            if (_held is not null)
            {
                _held.Add(message);
                return;
            }
            foreach (var s in _subscribers) s.Tell(message, ActorRefs.NoSender);
        }
    }

    /// <summary>Once the roles have started (and subscribed): delivers what the learner applied meanwhile, then every
    /// message as it comes.</summary>
    internal void Open()
    {
        lock (_lock)
        {
            if (_held is null) return;
            foreach (var message in _held)
                foreach (var s in _subscribers) s.Tell(message, ActorRefs.NoSender);
            _held = null;
        }
    }

    /// <summary>Unsubscribes subscribers that stopped.</summary>
    private sealed class SubscriberWatcher : ReceiveActor
    {
        public sealed record Watch(IActorRef Subscriber) : INoSerializationVerificationNeeded;

        public static Props Props(AppliedStream stream) => Akka.Actor.Props.Create(() => new SubscriberWatcher(stream));

        public SubscriberWatcher(AppliedStream stream)
        {
            Receive<Watch>(w => Context.Watch(w.Subscriber));
            Receive<Terminated>(t => stream.Unsubscribe(t.ActorRef));
        }
    }
}
