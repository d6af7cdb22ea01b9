using System.Collections.Immutable;
using Akka.Configuration;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Core.Proposers;

namespace PaxosActors.Configuration;

/// <summary>
/// The typed <c>paxos</c> section, read once at start-up. Invalid values fail here, with a
/// <see cref="ConfigurationException"/> naming the key, not later in the middle of the protocol.
/// </summary>
public sealed class PaxosSettings
{
    private PaxosSettings() { }

    public int NodeId { get; private init; }
    public ImmutableArray<int> Acceptors { get; private init; }
    public ImmutableArray<int> Members { get; private init; }
    public bool MultiPaxos { get; private init; }
    public string DataDir { get; private init; } = "";
    /// <summary><c>paxos.client-url</c>: where clients reach this node's API, or null (not announced).</summary>
    public Uri? ClientUrl { get; private init; }
    public TimeSpan TickInterval { get; private init; }
    public TimeSpan PhaseTimeout { get; private init; }
    public TimeSpan HeartbeatInterval { get; private init; }
    public TimeSpan ElectionTimeout { get; private init; }
    public TimeSpan BackoffBase { get; private init; }
    public TimeSpan BackoffCap { get; private init; }
    public double BackoffJitter { get; private init; }
    public int BatchMaxCommands { get; private init; }
    public int BatchMaxBytes { get; private init; }
    public TimeSpan BatchDelay { get; private init; }
    public int Window { get; private init; }
    public TimeSpan CatchUpInterval { get; private init; }
    public int SnapshotEvery { get; private init; }
    public long SnapshotEveryBytes { get; private init; }
    public int RetainedValues { get; private init; }
    public long RetainedBytes { get; private init; }
    public long CatchUpMaxBytes { get; private init; }
    public bool RebuildAcceptor { get; private init; }
    public TimeSpan SupervisionMinBackoff { get; private init; }
    public TimeSpan SupervisionMaxBackoff { get; private init; }
    public double SupervisionRandomFactor { get; private init; }
    /// <summary><c>paxos.health.journal-probe-interval</c>: zero for no probe.</summary>
    public TimeSpan JournalProbeInterval { get; private init; }
    /// <summary><c>paxos.health.max-learner-lag</c>, in slots.</summary>
    public int MaxLearnerLag { get; private init; }

    /// <summary>The SQLite file of this node.</summary>
    public string DatabasePath => Path.Combine(DataDir, $"node-{NodeId}.db");

    /// <summary>The embedded defaults, to be used as every configuration's fallback.</summary>
    public static Config DefaultConfig { get; } = LoadDefaults();

    /// <summary>Reads the <c>paxos</c> section of <paramref name="config"/> (defaults filled in).</summary>
    public static PaxosSettings Create(Config config)
    {
        var c = config.WithFallback(DefaultConfig).GetConfig("paxos")
                ?? throw new ConfigurationException("paxos: the section is missing");

        int nodeId = Positive(c, "node-id");
        var acceptors = Ids(c, "acceptors");
        if (acceptors.IsEmpty) throw Bad("acceptors", "at least one acceptor is required");
        var members = Ids(c, "members");
        if (members.IsEmpty) members = acceptors;

        string mode = c.GetString("mode", "multi").Trim().ToLowerInvariant();
        if (mode is not ("multi" or "basic")) throw Bad("mode", $"'{mode}' is neither multi nor basic");

        var tick = Duration(c, "tick-interval");
        var settings = new PaxosSettings
        {
            NodeId = nodeId,
            Acceptors = acceptors,
            Members = members,
            MultiPaxos = mode == "multi",
            DataDir = NonEmpty(c, "data-dir"),
            ClientUrl = Url(c, "client-url"),
            TickInterval = tick,
            PhaseTimeout = Duration(c, "phase-timeout"),
            HeartbeatInterval = Duration(c, "heartbeat-interval"),
            ElectionTimeout = Duration(c, "election-timeout"),
            BackoffBase = Duration(c, "backoff.base", allowZero: true),
            BackoffCap = Duration(c, "backoff.cap", allowZero: true),
            BackoffJitter = Fraction(c, "backoff.jitter"),
            BatchMaxCommands = Positive(c, "batch.max-commands"),
            BatchMaxBytes = (int)Math.Min(int.MaxValue, PositiveBytes(c, "batch.max-bytes")),
            BatchDelay = Duration(c, "batch.delay", allowZero: true),
            Window = Positive(c, "window"),
            CatchUpInterval = Duration(c, "catch-up-interval"),
            SnapshotEvery = Positive(c, "snapshot-every"),
            SnapshotEveryBytes = Bytes(c, "snapshot-every-bytes"),
            RetainedValues = Positive(c, "learner.retained-values"),
            RetainedBytes = Bytes(c, "learner.retained-bytes"),
            CatchUpMaxBytes = Bytes(c, "learner.catch-up-max-bytes"),
            RebuildAcceptor = Read("rebuild-acceptor", () => c.GetBoolean("rebuild-acceptor")),
            SupervisionMinBackoff = Duration(c, "supervision.min-backoff"),
            SupervisionMaxBackoff = Duration(c, "supervision.max-backoff"),
            SupervisionRandomFactor = Fraction(c, "supervision.random-factor"),
            JournalProbeInterval = Duration(c, "health.journal-probe-interval", allowZero: true),
            MaxLearnerLag = Positive(c, "health.max-learner-lag"),
        };
        if (settings.BackoffCap < settings.BackoffBase)
            throw Bad("backoff.cap", $"{settings.BackoffCap.TotalMilliseconds} ms is below backoff.base ({settings.BackoffBase.TotalMilliseconds} ms)");
        if (settings.SupervisionMaxBackoff < settings.SupervisionMinBackoff)
            throw Bad("supervision.max-backoff", "is below supervision.min-backoff");
        if (settings.HeartbeatInterval >= settings.ElectionTimeout)
            throw Bad("heartbeat-interval", "must be shorter than election-timeout, or followers depose a live leader");
        return settings;
    }

    /// <summary>The proposer's options, in ticks.</summary>
    public ProposerOptions ProposerOptions => new()
    {
        MultiPaxos = MultiPaxos,
        MaxBatchCommands = BatchMaxCommands,
        MaxBatchBytes = BatchMaxBytes,
        BatchDelayTicks = BatchDelay == TimeSpan.Zero ? 0 : Ticks(BatchDelay),
        BufferForwards = true,
        Window = Window,
        PhaseTimeoutTicks = Ticks(PhaseTimeout),
        HeartbeatTicks = Ticks(HeartbeatInterval),
        ElectionTimeoutTicks = Ticks(ElectionTimeout),
        BackoffBaseTicks = BackoffBase == TimeSpan.Zero ? 0 : Ticks(BackoffBase),
        BackoffCapTicks = BackoffCap == TimeSpan.Zero ? 0 : Ticks(BackoffCap),
        BackoffJitter = BackoffJitter,
    };

    /// <summary>The learner's options, in ticks; <paramref name="snapshots"/>: whether the state machine can take snapshots.</summary>
    public LearnerOptions LearnerOptions(bool snapshots = true, bool compactAcceptor = true) => new()
    {
        CatchUpTicks = Ticks(CatchUpInterval),
        Snapshots = snapshots,
        SnapshotEvery = SnapshotEvery,
        SnapshotEveryBytes = SnapshotEveryBytes,
        RetainedValues = RetainedValues,
        RetainedBytes = RetainedBytes,
        MaxCatchUpBytes = CatchUpMaxBytes,
        CompactAcceptor = compactAcceptor,
    };

    /// <summary>The membership a brand-new cluster starts with: <c>paxos.acceptors</c> vote, the other <c>paxos.members</c>
    /// learn. Once the cluster runs, the membership in force is the one chosen through the log.</summary>
    public Membership SeedMembership => new(Acceptors, Members.Where(m => !Acceptors.Contains(m)));

    /// <summary>The acceptor's options: the configured acceptor set, lost-state detection, the rebuild request.</summary>
    public AcceptorOptions AcceptorOptions => new(new QuorumSet(Acceptors))
    {
        Rebuild = RebuildAcceptor,
        StartupQueryTicks = Ticks(TimeSpan.FromMilliseconds(500)),
    };

    private int Ticks(TimeSpan span) => (int)Math.Max(1, Math.Ceiling(span / TickInterval));

    private static Config LoadDefaults() => EmbeddedConfig.Load(typeof(PaxosSettings).Assembly, "PaxosActors.reference.conf");

    private static ConfigurationException Bad(string key, string why) => new($"paxos.{key}: {why}");

    private static T Read<T>(string key, Func<T> read)
    {
        try { return read(); }
        catch (ConfigurationException) { throw; }
        catch (Exception e) { throw Bad(key, $"cannot be read ({e.Message})"); }
    }

    private static int Positive(Config c, string key)
    {
        int v = Read(key, () => c.GetInt(key));
        return v > 0 ? v : throw Bad(key, $"must be positive, is {v}");
    }

    private static long PositiveBytes(Config c, string key)
    {
        long? v = Read(key, () => c.GetByteSize(key));
        return v is > 0 ? v.Value : throw Bad(key, $"must be a positive size, is {v}");
    }

    /// <summary>A size in bytes, 0 allowed (for "no bound").</summary>
    private static long Bytes(Config c, string key)
    {
        if (!c.HasPath(key)) throw Bad(key, "is missing");
        if (c.GetString(key, "").TrimStart().StartsWith('-')) throw Bad(key, "must be a size of zero or more");
        long? v = Read(key, () => c.GetByteSize(key));
        return v is >= 0 ? v.Value : throw Bad(key, $"must be a size of zero or more, is {v}");
    }

    private static string NonEmpty(Config c, string key)
    {
        string v = Read(key, () => c.GetString(key, ""));
        return string.IsNullOrWhiteSpace(v) ? throw Bad(key, "must not be empty") : v;
    }

    /// <summary>An absolute http(s) URL without query or fragment, or null when the key is empty.</summary>
    private static Uri? Url(Config c, string key)
    {
        string v = Read(key, () => c.GetString(key, "")).Trim();
        if (v.Length == 0) return null;
        if (!Uri.TryCreate(v, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw Bad(key, $"'{v}' is not an absolute http:// or https:// URL");
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || v.Contains(',') || v.Any(char.IsWhiteSpace))
            throw Bad(key, $"'{v}' must have no query, fragment, comma or space");
        return uri;
    }

    private static TimeSpan Duration(Config c, string key, bool allowZero = false)
    {
        if (!c.HasPath(key)) throw Bad(key, "is missing");
        string raw = c.GetString(key, "");
        if (raw.TrimStart().StartsWith('-')) throw Bad(key, $"must be {(allowZero ? "zero or more" : "positive")}, is {raw}");
        var v = Read(key, () => c.GetTimeSpan(key, null, allowInfinite: false));
        return v > TimeSpan.Zero || (allowZero && v == TimeSpan.Zero) ? v
            : throw Bad(key, $"must be {(allowZero ? "zero or more" : "positive")}, is {v.TotalMilliseconds} ms");
    }

    private static double Fraction(Config c, string key)
    {
        double v = Read(key, () => c.GetDouble(key));
        return v is >= 0 and <= 1 ? v : throw Bad(key, $"must be between 0 and 1, is {v}");
    }

    private static ImmutableArray<int> Ids(Config c, string key)
    {
        var ids = Read(key, () => c.GetIntList(key)).ToImmutableArray();
        foreach (int id in ids)
            if (id <= 0) throw Bad(key, $"node id {id} is not positive");
        var twice = ids.GroupBy(i => i).FirstOrDefault(g => g.Count() > 1);
        if (twice is not null) throw Bad(key, $"node {twice.Key} is listed twice");
        return ids;
    }
}
