using Akka.Actor;
using Akka.Persistence;

namespace PaxosActors.Diagnostics;

/// <summary>
/// Writes a tiny event (a timestamp) to the node's journal every <c>paxos.health.journal-probe-interval</c> and tells
/// <see cref="JournalHealth"/> how it went: the active check behind "its journal accepts writes", in the manner of
/// Akka.HealthCheck's persistence probe. Without it, a journal that fills up on an idle node would go unnoticed until a
/// client wrote, and one that recovered would stay reported as failing until then. A failed write stops it (Akka
/// Persistence's rule); its backoff supervisor starts it again after one interval, and it probes at once. It never
/// replays (its events mean nothing) and deletes what it wrote every so often, so it costs one small fsync per interval.
/// </summary>
public sealed class JournalProbe : ReceivePersistentActor, IWithTimers
{
    private const int DeleteEvery = 20;
    private readonly TimeSpan _interval;
    private readonly JournalHealth _health;
    private readonly PaxosMetrics _metrics;

    public JournalProbe(int nodeId, TimeSpan interval)
    {
        PersistenceId = $"journal-probe-{nodeId}";
        // The journal the agents write to (paxos.persistence), not necessarily the application's default one.
        var plugins = Configuration.PersistencePlugins.From(Context.System.Settings.Config);
        if (plugins.Journal.Length > 0) JournalPluginId = plugins.Journal;
        if (plugins.Snapshots.Length > 0) SnapshotPluginId = plugins.Snapshots;
        _interval = interval;
        _health = JournalHealth.Get(Context.System);
        _metrics = PaxosMetrics.Get(Context.System);

        Recover<RecoveryCompleted>(_ =>
        {
            Timers.StartPeriodicTimer("probe", Probe.Instance, _interval);
            Self.Tell(Probe.Instance);
        });
        Command<Probe>(_ => Persist(DateTime.UtcNow.Ticks, _ =>
        {
            _health.ProbeSucceeded(_interval + _interval);
            if (LastSequenceNr % DeleteEvery == 0) DeleteMessages(LastSequenceNr);
        }));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public override string PersistenceId { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    // Nothing to replay: only the highest sequence number is read, so the next event goes above it.
    public override Recovery Recovery => new(SnapshotSelectionCriteria.None, 0);

    public static Props Props(int nodeId, TimeSpan interval) => Akka.Actor.Props.Create(() => new JournalProbe(nodeId, interval));

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _health.Failed(JournalHealth.Probe, cause);
        _metrics.JournalWriteFailures.Add(1, new KeyValuePair<string, object?>("writer", JournalHealth.Probe));
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    private sealed class Probe : INoSerializationVerificationNeeded
    {
        public static readonly Probe Instance = new();
    }
}
