using System.Diagnostics.Metrics;
using Akka.Actor;

namespace PaxosActors.Diagnostics;

/// <summary>
/// One node's metrics, as <see cref="System.Diagnostics.Metrics"/> instruments of the meter <see cref="MeterName"/>: the
/// library only records them; whoever hosts the node exports them (the node executable serves them at <c>/metrics</c> in
/// Prometheus text format; an application of its own adds the meter to its OpenTelemetry set-up). One per ActorSystem, as
/// an Akka extension, so the actors and the journal plugin of a node find the same instance; its meter is disposed when
/// the ActorSystem terminates.
/// <para>
/// Cheap on the hot path by construction: counters and histograms are recorded once per step, batch or commit (never
/// per message), without tags or with constant ones; the gauges are plain fields the actors overwrite after a step and
/// the exporter reads when scraped.
/// </para>
/// </summary>
public sealed class PaxosMetrics : IExtension, IDisposable
{
    /// <summary>The meter every instrument here belongs to.</summary>
    public const string MeterName = "PaxosActors";

    private const long Unknown = long.MinValue;

    private readonly Meter _meter;
    private long _ballotRound = Unknown;
    private long _leader = Unknown;
    private long _appliedSlot = Unknown;
    private long _learnerLag = Unknown;
    private long _promisedRound = Unknown;
    private long _acceptorVoting = Unknown;

    public PaxosMetrics(JournalHealth? journal = null)
    {
        _meter = new Meter(MeterName);
        Proposals = _meter.CreateCounter<long>("paxos.proposals", "{slot}",
            "Slots this node's proposer sent a value to the acceptors for, as leader: client batches, re-proposals and no-ops.");
        ProposalCommands = _meter.CreateHistogram<int>("paxos.proposal.commands", "{command}",
            "Client commands in each slot value this node's proposer proposed (the leader's batch size; 0 for a no-op).",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = PowersOfTwo });
        ChosenSlots = _meter.CreateCounter<long>("paxos.chosen.slots", "{slot}",
            "Chosen slots this node's learner applied to the state machine, in slot order.");
        LeaderChanges = _meter.CreateCounter<long>("paxos.leader.changes", "{change}",
            "Times this node's proposer saw the leader change (to another node, or to itself).");
        BackoffRetries = _meter.CreateCounter<long>("paxos.backoff.retries", "{retry}",
            "Attempts this node's proposer retried after a Nack or a timeout, each after a randomised exponential backoff.");
        AgentStarts = _meter.CreateCounter<long>("paxos.agent.starts", "{start}",
            "Incarnations of each Paxos agent: the first start, and every restart by its backoff supervisor (a failed journal write stops it).");
        JournalCommitDuration = _meter.CreateHistogram<double>("paxos.journal.commit.duration", "s",
            "Time of each group commit of the SQLite journal: one transaction and its fsync, for every write queued since the last.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Seconds });
        JournalCommitOperations = _meter.CreateHistogram<int>("paxos.journal.commit.operations", "{operation}",
            "Writes and deletes in each group commit of the SQLite journal (its batch size).",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = PowersOfTwo });
        JournalWriteFailures = _meter.CreateCounter<long>("paxos.journal.write.failures", "{failure}",
            "Journal writes that failed, by the writer that saw it (acceptor, proposer, learner, probe).");
        // Counters are exported from 0, not from their first event (Prometheus' rate() needs the zero).
        foreach (var counter in new[] { Proposals, ChosenSlots, LeaderChanges, BackoffRetries }) counter.Add(0);

        _meter.CreateObservableGauge("paxos.ballot.round", () => Read(ref _ballotRound), "{round}",
            "Round of this node's proposer's current ballot (the ballot is round.node).");
        _meter.CreateObservableGauge("paxos.leader", () => Read(ref _leader), "{node}",
            "The node this node's proposer believes leads (0: none known).");
        _meter.CreateObservableGauge("paxos.applied.slot", () => Read(ref _appliedSlot), "{slot}",
            "The last slot this node's learner applied (-1: none).");
        _meter.CreateObservableGauge("paxos.learner.lag", () => Read(ref _learnerLag), "{slot}",
            "Slots known chosen (by this learner, or by the leader's heartbeat) that this node's learner has not applied yet.");
        _meter.CreateObservableGauge("paxos.acceptor.promised.round", () => Read(ref _promisedRound), "{round}",
            "Round of the highest ballot this node's acceptor promised.");
        _meter.CreateObservableGauge("paxos.acceptor.voting", () => Voting(journal), "",
            "1 while this node's acceptor votes (its journal accepting writes), else 0; see /status for why not.");
        if (journal is not null)
            _meter.CreateObservableGauge("paxos.journal.healthy", () => journal.AcceptsWrites ? 1 : 0, "",
                "1 while the node's journal accepts writes (its last write succeeded), else 0; /status journal_error says why.");
    }

    private static readonly IReadOnlyList<int> PowersOfTwo = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    private static readonly IReadOnlyList<double> Seconds =
        [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

    /// <summary>This node's meter: a test tells its instruments from other nodes' in the same process.</summary>
    internal Meter Meter => _meter;

    public Counter<long> Proposals { get; }
    public Histogram<int> ProposalCommands { get; }
    public Counter<long> ChosenSlots { get; }
    public Counter<long> LeaderChanges { get; }
    public Counter<long> BackoffRetries { get; }
    public Counter<long> AgentStarts { get; }
    public Histogram<double> JournalCommitDuration { get; }
    public Histogram<int> JournalCommitOperations { get; }
    public Counter<long> JournalWriteFailures { get; }

    /// <summary>The gauges of this node's proposer, after a step.</summary>
    public void Proposer(long ballotRound, int? leader)
    {
        Volatile.Write(ref _ballotRound, ballotRound);
        Volatile.Write(ref _leader, leader ?? 0);
    }

    /// <summary>The gauges of this node's learner, after a step.</summary>
    public void Learner(long appliedSlot, long lag)
    {
        Volatile.Write(ref _appliedSlot, appliedSlot);
        Volatile.Write(ref _learnerLag, lag);
    }

    /// <summary>The gauges of this node's acceptor, after a step.</summary>
    public void Acceptor(long promisedRound, bool voting)
    {
        Volatile.Write(ref _promisedRound, promisedRound);
        Volatile.Write(ref _acceptorVoting, voting ? 1 : 0);
    }

    /// <summary>This node's acceptor does not run (its journal is unreadable) or cannot recover.</summary>
    public void AcceptorRefusing() => Volatile.Write(ref _acceptorVoting, 0);

    /// <summary>A gauge no agent of this node has set yet is not reported at all (a node without a proposer has no ballot).</summary>
    private static IEnumerable<Measurement<long>> Read(ref long field)
    {
        long value = Volatile.Read(ref field);
        return value == Unknown ? [] : [new Measurement<long>(value)];
    }

    private IEnumerable<Measurement<long>> Voting(JournalHealth? journal)
    {
        long voting = Volatile.Read(ref _acceptorVoting);
        if (voting == Unknown) return [];
        return [new Measurement<long>(voting == 1 && journal?.AcceptsWrites != false ? 1 : 0)];
    }

    public void Dispose() => _meter.Dispose();

    /// <summary>The metrics of <paramref name="system"/>'s node.</summary>
    public static PaxosMetrics Get(ActorSystem system) => system.WithExtension<PaxosMetrics, PaxosMetricsProvider>();
}

/// <summary>Makes one <see cref="PaxosMetrics"/> per ActorSystem, disposed with it.</summary>
public sealed class PaxosMetricsProvider : ExtensionIdProvider<PaxosMetrics>
{
    public override PaxosMetrics CreateExtension(ExtendedActorSystem system)
    {
        var metrics = new PaxosMetrics(JournalHealth.Get(system));
        system.RegisterOnTermination(metrics.Dispose);
        return metrics;
    }
}
