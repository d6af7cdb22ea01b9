using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

using Address = PaxosActors.Core.Protocol.Address;
using Envelope = PaxosActors.Core.Protocol.Envelope;

namespace PaxosActors.Actors;

/// <summary>Asks an acceptor for its state; answered with <see cref="AcceptorState"/>.</summary>
public sealed class GetAcceptorState : INoSerializationVerificationNeeded
{
    public static readonly GetAcceptorState Instance = new();
    private GetAcceptorState() { }
}

/// <summary>An acceptor's durable state, as seen by tests and /status.</summary>
public sealed record AcceptorState(int Node, Ballot Promised, long CompactedBelow, int Entries, AcceptedEntry? Highest)
    : INoSerializationVerificationNeeded;

/// <summary>
/// The shell around <see cref="Acceptor"/>: every promise and vote is persisted before the reply
/// that reveals it leaves (Paxos's whole durability). Persistence is asynchronous so that Accepts for
/// many slots share one SQLite transaction; a reply without an event of its own still waits behind
/// the events before it, since it may reveal them.
/// </summary>
public sealed class AcceptorActor : ReceivePersistentActor
{
    private readonly Acceptor _acceptor;
    private readonly RoleDirectory _directory;
    private readonly int _snapshotEvery;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Address _self;
    private int _unpersisted;
    private long _eventsSinceSnapshot;

    public AcceptorActor(int nodeId, RoleDirectory directory, int snapshotEvery)
    {
        _acceptor = new Acceptor(nodeId);
        _directory = directory;
        _snapshotEvery = snapshotEvery;
        _self = Address.Acceptor(nodeId);
        PersistenceId = $"acceptor-{nodeId}";

        Recover<SnapshotOffer>(offer => _acceptor.Restore((AcceptorSnapshot)offer.Snapshot));
        Recover<IAcceptorEvent>(evt => { _acceptor.Apply(evt); _eventsSinceSnapshot++; });
        Recover<RecoveryCompleted>(_ => _log.Info("acceptor {0} recovered: promised {1}, {2} entries", nodeId, _acceptor.Promised, _acceptor.EntryCount));

        Command<Accept>(accept => Carry(_acceptor.Handle(accept)));
        Command<Prepare>(prepare => Carry(_acceptor.Handle(prepare)));
        Command<CompactBelow>(c =>
        {
            if (_acceptor.Compact(c.Below) is { } compacted) Carry(new AcceptorStep(compacted, null));
        });
        Command<GetAcceptorState>(_ => Sender.Tell(State()));
        Command<SaveSnapshotSuccess>(ok =>
        {
            DeleteMessages(ok.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(ok.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "acceptor snapshot failed; the journal keeps everything"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(f => _log.Warning(f.Cause, "acceptor journal compaction failed"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(_ => { });
    }

    public override string PersistenceId { get; }

    public static Props Props(int nodeId, RoleDirectory directory, int snapshotEvery = 10_000) =>
        Akka.Actor.Props.Create(() => new AcceptorActor(nodeId, directory, snapshotEvery));

    private void Carry(AcceptorStep step)
    {
        if (step.Event is { } evt)
        {
            _unpersisted++;
            PersistAsync(evt, _ =>
            {
                _unpersisted--;
                if (step.Reply is { } reply) _directory.Send(_self, reply, Self);
                if (++_eventsSinceSnapshot >= _snapshotEvery && _unpersisted == 0)
                {
                    _eventsSinceSnapshot = 0;
                    SaveSnapshot(_acceptor.Snapshot()); // only when memory equals what is durable
                }
            });
        }
        else if (step.Reply is { } reply)
        {
            if (_unpersisted == 0) _directory.Send(_self, reply, Self);
            else DeferAsync(reply, r => _directory.Send(_self, r, Self));
        }
    }

    private AcceptorState State()
    {
        var entries = _acceptor.Snapshot().Entries;
        return new AcceptorState(_acceptor.Id, _acceptor.Promised, _acceptor.CompactedBelow, entries.Length,
            entries.IsEmpty ? null : entries[^1]);
    }
}
