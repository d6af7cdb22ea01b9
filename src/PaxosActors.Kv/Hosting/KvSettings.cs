using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Kv.Hosting;

/// <summary>The typed <c>paxos.kv</c> section: request limits and timeouts of the key-value front end. Its defaults
/// ship in this assembly (reference.conf).</summary>
public sealed class KvSettings
{
    public int MaxValueBytes { get; private init; }
    public int MaxKeyBytes { get; private init; }
    public TimeSpan RequestTimeout { get; private init; }
    public TimeSpan RetryInterval { get; private init; }
    public long SessionExpirySlots { get; private init; }

    /// <summary>The embedded defaults of <c>paxos.kv</c>.</summary>
    public static Config DefaultConfig { get; } = EmbeddedConfig.Load(typeof(KvSettings).Assembly, "PaxosActors.Kv.reference.conf");

    /// <summary>Reads <c>paxos.kv</c> of <paramref name="config"/>, defaults filled in.</summary>
    public static KvSettings Create(Config config)
    {
        var c = config.WithFallback(DefaultConfig).GetConfig("paxos.kv") ?? throw new ConfigurationException("paxos.kv: the section is missing");
        var s = new KvSettings
        {
            MaxValueBytes = (int)Math.Min(int.MaxValue, c.GetByteSize("max-value-bytes") ?? 0),
            MaxKeyBytes = c.GetInt("max-key-bytes"),
            RequestTimeout = c.GetTimeSpan("request-timeout"),
            RetryInterval = c.GetTimeSpan("retry-interval"),
            SessionExpirySlots = c.GetLong("session-expiry-slots"),
        };
        if (s.MaxValueBytes <= 0) throw new ConfigurationException("paxos.kv.max-value-bytes: must be positive");
        if (s.MaxKeyBytes <= 0) throw new ConfigurationException("paxos.kv.max-key-bytes: must be positive");
        if (s.RequestTimeout <= TimeSpan.Zero) throw new ConfigurationException("paxos.kv.request-timeout: must be positive");
        if (s.RetryInterval <= TimeSpan.Zero) throw new ConfigurationException("paxos.kv.retry-interval: must be positive");
        if (s.SessionExpirySlots <= 0) throw new ConfigurationException("paxos.kv.session-expiry-slots: must be positive");
        return s;
    }
}
