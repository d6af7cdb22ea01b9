using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;
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
public sealed record AcceptorState(int Node, Ballot Promised, long CompactedBelow, int Entries, AcceptedEntry? Highest,
    StartupVerdict Startup)
    : INoSerializationVerificationNeeded;

/// <summary>How an acceptor decides, after recovery, whether it may vote (see <see cref="AcceptorStartup"/>).</summary>
public sealed record AcceptorStartupOptions(QuorumSet Acceptors, bool Rebuild, NodeHealth? Health = null)
{
    public TimeSpan QueryInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>
/// The shell around <see cref="Acceptor"/>: every promise and vote is persisted before the reply
/// that reveals it leaves (Paxos's whole durability). Persistence is asynchronous so that Accepts for
/// many slots share one SQLite transaction; a reply without an event of its own still waits behind
/// the events before it, since it may reveal them. An acceptor whose journal is empty does not vote
/// until <see cref="AcceptorStartup"/> allows it; one whose journal cannot be read does not start. Only a voting
/// acceptor answers a proposer's <see cref="RoundQuery"/>.
/// </summary>
public sealed class AcceptorActor : ReceivePersistentActor, IWithTimers
{
    private readonly Acceptor _acceptor;
    private readonly RoleDirectory _directory;
    private readonly int _snapshotEvery;
    private readonly AcceptorStartupOptions? _startupOptions;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Address _self;
    private AcceptorStartup? _startup;
    private bool _recoveredAnything;
    private int _unpersisted;
    private long _eventsSinceSnapshot;

    public AcceptorActor(int nodeId, RoleDirectory directory, int snapshotEvery, AcceptorStartupOptions? startup)
    {
        _acceptor = new Acceptor(nodeId);
        _directory = directory;
        _snapshotEvery = snapshotEvery;
        _startupOptions = startup;
        _self = Address.Acceptor(nodeId);
        PersistenceId = $"acceptor-{nodeId}";

        Recover<SnapshotOffer>(offer =>
        {
            _recoveredAnything = true;
            _acceptor.Restore((AcceptorSnapshot)offer.Snapshot);
        });
        Recover<IAcceptorEvent>(evt =>
        {
            _recoveredAnything = true;
            _acceptor.Apply(evt);
            _eventsSinceSnapshot++;
        });
        Recover<RecoveryCompleted>(_ => Decide());

        // Until Decide() has run, every command is stashed by Akka.Persistence; after it, one of these behaviours.
        Command<object>(_ => { });
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(int nodeId, RoleDirectory directory, int snapshotEvery = 10_000, AcceptorStartupOptions? startup = null) =>
        Akka.Actor.Props.Create(() => new AcceptorActor(nodeId, directory, snapshotEvery, startup));

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        string why = $"its journal cannot be read ({reason.GetType().Name}: {reason.Message}); it will not vote. " +
                     "See README, 'Recovering an acceptor'.";
        _log.Error(reason, "acceptor {0}: {1}", _acceptor.Id, why);
        _startupOptions?.Health?.SetAcceptor(false, "refusing: " + why);
        base.OnRecoveryFailure(reason, message);
    }

    private void Decide()
    {
        if (_startupOptions is null)
        {
            BecomeVoting("recovered");
            return;
        }
        _startup = new AcceptorStartup(_acceptor.Id, _startupOptions.Acceptors, journalEmpty: !_recoveredAnything, _startupOptions.Rebuild);
        if (_startupOptions.Rebuild && _recoveredAnything)
            _log.Warning("acceptor {0}: the journal holds state, so the rebuild request is ignored", _acceptor.Id);
        Carry(_startup);
    }

    /// <summary>Acts on the start-up verdict so far.</summary>
    private void Carry(AcceptorStartup startup)
    {
        switch (startup.Verdict)
        {
            case StartupVerdict.Vote when startup.RecordSelf && !_acceptor.Knows(_acceptor.Id):
                Persist(new VoterJoined(_acceptor.Id), evt =>
                {
                    _acceptor.Apply(evt);
                    BecomeVoting(startup.Reason);
                });
                break;
            case StartupVerdict.Vote:
                BecomeVoting(startup.Reason);
                break;
            case StartupVerdict.Rebuild:
                Persist(new Rebuilt(startup.Rebuilt!), evt =>
                {
                    _acceptor.Apply(evt);
                    _log.Warning("acceptor {0}: {1}", _acceptor.Id, startup.Reason);
                    SaveSnapshot(_acceptor.Snapshot());
                    BecomeVoting(startup.Reason);
                });
                break;
            case StartupVerdict.Refuse:
                Timers.Cancel("query");
                _log.Error("acceptor {0}: {1}", _acceptor.Id, startup.Reason);
                _startupOptions?.Health?.SetAcceptor(false, "refusing: " + startup.Reason);
                Become(Refusing);
                break;
            case StartupVerdict.Wait:
                _startupOptions?.Health?.SetAcceptor(false, "waiting: " + startup.Reason);
                if (!Timers.IsTimerActive("query"))
                {
                    _log.Info("acceptor {0}: {1}", _acceptor.Id, startup.Reason);
                    Timers.StartPeriodicTimer("query", QueryOthers.Instance, TimeSpan.Zero, _startupOptions!.QueryInterval);
                    Become(Starting);
                }
                break;
        }
    }

    private void BecomeVoting(string why)
    {
        Timers.Cancel("query");
        _log.Info("acceptor {0} votes ({1}): promised {2}, {3} entries", _acceptor.Id, why, _acceptor.Promised, _acceptor.EntryCount);
        _startupOptions?.Health?.SetAcceptor(true, "voting");
        Become(Voting);
    }

    private void Voting()
    {
        Command<Accept>(accept => Carry(_acceptor.Handle(accept)));
        Command<Prepare>(prepare => Carry(_acceptor.Handle(prepare)));
        Command<RoundQuery>(query => Carry(_acceptor.Handle(query)));
        CommonCommands();
    }

    /// <summary>Empty journal, verdict pending: answers questions, casts no vote.</summary>
    private void Starting()
    {
        Command<QueryOthers>(_ => SendQueries());
        Command<StateReport>(report =>
        {
            var asked = _startup!.Query;
            _startup.Handle(report);
            Carry(_startup);
            if (_startup.Verdict == StartupVerdict.Wait && _startup.Query != asked) SendQueries(); // the next question at once
        });
        CommonCommands();
    }

    private void SendQueries()
    {
        foreach (int other in _startup!.Others)
            _directory.Send(_self, new Envelope(Address.Acceptor(other), _startup.Query), Self);
    }

    /// <summary>Lost its durable state: never votes again until rebuilt by an operator.</summary>
    private void Refusing() => CommonCommands();

    private void CommonCommands()
    {
        Command<StateQuery>(query => Carry(_acceptor.Handle(query)));
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
        Command<Prepare>(_ => { }); // not voting: as if lost, and the proposer's timeout deals with it
        Command<Accept>(_ => { });
        // Not voting: its promise is blank (lost, or not yet its own), and a proposer that lost its journal
        // must not count it towards the majority whose highest promise bounds its next round.
        Command<RoundQuery>(_ => { });
    }

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
            entries.IsEmpty ? null : entries[^1], _startup?.Verdict ?? StartupVerdict.Vote);
    }

    private sealed class QueryOthers : INoSerializationVerificationNeeded
    {
        public static readonly QueryOthers Instance = new();
    }
}
