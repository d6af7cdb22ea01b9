using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using PaxosActors.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;
using PaxosActors.Hosting;
using PaxosActors.Routing;

namespace PaxosActors.Actors;

/// <summary>
/// The shell around one Paxos agent, written once for the three of them: it recovers the agent from its journal,
/// steps it with every message and with the ticks of its clock, and carries out each <see cref="Ready"/>: events are
/// persisted (asynchronously, so many share one SQLite transaction) and the messages that may reveal them leave only
/// once they are durable (<see cref="Outbox"/>); a subclass applies what a learner hands out. No protocol decision is
/// made here.
/// </summary>
public abstract class AgentActor<TAgent> : ReceivePersistentActor, IWithTimers where TAgent : IAgent
{
    private readonly TimeSpan _tick;
    private readonly Outbox _outbox = new();
    private readonly JournalHealth _journal;
    private readonly string _writer;

    protected AgentActor(TAgent agent, AgentDirectory directory, TimeSpan tick)
    {
        Agent = agent;
        Directory = directory;
        _tick = tick;
        PersistenceId = agent.Id.ActorName;
        Metrics = PaxosMetrics.Get(Context.System);
        _journal = JournalHealth.Get(Context.System);
        _writer = AgentRoles.NameOf(agent.Id.Agent);
        Metrics.AgentStarts.Add(1, new KeyValuePair<string, object?>("agent", _writer));
        // Any Akka.Persistence plugin: the ids come from settings (empty: Akka's default plugin, which a node sets to
        // its SQLite file unless told otherwise). Nothing here assumes the built-in journal.
        var plugins = PersistencePlugins.From(Context.System.Settings.Config);
        if (plugins.Journal.Length > 0) JournalPluginId = plugins.Journal;
        if (plugins.Snapshots.Length > 0) SnapshotPluginId = plugins.Snapshots;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is IJournalRecord record) Agent.Recover(record);
        });
        Recover<IJournalRecord>(record => Agent.Recover(record));
        Recover<RecoveryCompleted>(_ =>
        {
            Timers.StartPeriodicTimer("tick", new LocalDelivery(Tick.Instance), _tick);
            Replaying = true;
            try
            {
                Carry(Agent.Step(Recovered.Instance));
            }
            finally
            {
                Replaying = false;
            }
        });

        Command<IPaxosMessage>(message =>
        {
            if (HopTrace.Enabled) HopTrace.Message("recv", message, Agent.Id, extra: Sender.Path.Address.HasGlobalScope ? 1 : 0);
            Step(message);
        });
        Command<LocalDelivery>(local => Step(local.Input));
        // A local input (a tick, news from an agent on this node) only arrives wrapped, which the wire cannot carry.
        Command<ILocalInput>(input => Log.Warning("{0}: refusing the bare local input {1} from {2}", Agent.Id, input, Sender.Path));
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    protected TAgent Agent { get; }
    protected PaxosMetrics Metrics { get; }
    protected AgentDirectory Directory { get; }

    /// <summary>True while the Ready of the step that ends recovery is carried out: what it applies comes from this agent's
    /// own journal (the learner's replay), not from its peers.</summary>
    protected bool Replaying { get; private set; }

    /// <summary>Journal writes not yet confirmed durable: the agent's memory is ahead of its journal by these.</summary>
    protected int PendingWrites => _outbox.Pending;

    /// <summary>A journal write failed: the node's <see cref="JournalHealth"/> says so (in /status, /health/ready and the
    /// metrics) until a write succeeds again; then Akka.Persistence stops this actor and its supervisor restarts it.</summary>
    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _journal.Failed(_writer, cause);
        Metrics.JournalWriteFailures.Add(1, new KeyValuePair<string, object?>("writer", _writer));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>A write of this agent is durable: the journal accepts writes.</summary>
    protected void JournalWrote() => _journal.Succeeded(_writer);

    /// <summary>Before an input is stepped (the learner writes its cached records on a tick).</summary>
    protected virtual void BeforeStep(IInput input) { }

    /// <summary>After an event of <see cref="Ready.Persist"/> is durable.</summary>
    protected virtual void OnDurable(IJournalRecord record) { }

    /// <summary><see cref="Ready.Cache"/>: records nothing waits for. Written at once unless a subclass groups them.</summary>
    protected virtual void WriteCache(IReadOnlyList<IJournalRecord> records) => PersistAllAsync(records, _ => JournalWrote());

    /// <summary>The learner's part of a Ready: <see cref="Ready.Install"/>, <see cref="Ready.Apply"/>,
    /// <see cref="Ready.SnapshotAt"/>, <see cref="Ready.SendStateTo"/>.</summary>
    protected virtual void ApplyChosen(Ready ready) { }

    /// <summary><see cref="Ready.Reads"/>: read points the proposer hands out.</summary>
    protected virtual void HandOutReads(IReadOnlyList<ReadState> reads) { }

    /// <summary>After every Ready is carried out (status for /status, metrics, typically).</summary>
    protected virtual void AfterStep() { }

    /// <summary>Sees each non-empty Ready once it is carried out, before <see cref="AfterStep"/> (for metrics: it must not
    /// allocate).</summary>
    protected virtual void Observe(Ready ready) { }

    /// <summary>Whether the agent may be stepped with <paramref name="input"/> (the learner refuses a peer's state that
    /// could not carry this node's replicated state). Default: every input.</summary>
    protected virtual bool Admits(IInput input) => true;

    protected void Step(IInput input)
    {
        if (!Admits(input)) return;
        BeforeStep(input);
        Carry(Agent.Step(input));
    }

    /// <summary>Carries out one Ready in the order its contract gives.</summary>
    protected void Carry(Ready ready)
    {
        if (ready.IsEmpty) return;
        Directory.SendAll(Agent.Id, _outbox.Admit(ready), Self);
        if (ready.Persist.Count > 0)
        {
            if (HopTrace.Enabled) HopTrace.Mark("persist-request", TraceKey(ready.Messages), Agent.Id.Node, ready.Persist.Count);
            // One handler call per event, in order: each confirms one more durable event to the outbox.
            PersistAllAsync(ready.Persist, durable =>
            {
                var released = _outbox.Durable();
                if (HopTrace.Enabled) HopTrace.Mark("persist-done", TraceKey(released), Agent.Id.Node, released.Count);
                Directory.SendAll(Agent.Id, released, Self);
                _journal.Succeeded(_writer);
                OnDurable(durable);
            });
        }
        if (ready.Cache.Count > 0) WriteCache(ready.Cache);
        ApplyChosen(ready);
        if (ready.FlushWhenIdle) Self.Tell(new LocalDelivery(Flush.Instance)); // behind the mailbox: one burst, one batch
        if (ready.Reads.Count > 0) HandOutReads(ready.Reads);
        foreach (var notice in ready.Notices)
        {
            switch (notice.Level)
            {
                case NoticeLevel.Error: Log.Error(notice.Text); break;
                case NoticeLevel.Warning: Log.Warning(notice.Text); break;
                default: Log.Info(notice.Text); break;
            }
        }
        Observe(ready);
        AfterStep();
    }

    /// <summary>The slot of the first message with one (<see cref="HopTrace"/>), else -1.</summary>
    private static long TraceKey(IReadOnlyList<Outgoing> messages)
    {
        for (int i = 0; i < messages.Count; i++)
            if (HopTrace.SlotOf(messages[i].Message) is { } slot and > 0) return slot;
        return -1;
    }

    protected void SendAll(IReadOnlyList<Outgoing> messages) => Directory.SendAll(Agent.Id, messages, Self);
}
