using Akka.Configuration;

namespace Samples.Locks;

/// <summary>The typed <c>paxos.locks</c> section; its defaults are this assembly's reference.conf.</summary>
public sealed class LockSettings
{
    private LockSettings() { }

    public TimeSpan DefaultTtl { get; private init; }
    public TimeSpan MaxTtl { get; private init; }

    /// <summary>Reads <c>paxos.locks</c>; an invalid value fails with a <see cref="ConfigurationException"/> naming the key.</summary>
    public static LockSettings Create(Config config)
    {
        var c = config.GetConfig("paxos.locks") ?? throw new ConfigurationException("paxos.locks: the section is missing");
        var s = new LockSettings
        {
            DefaultTtl = Duration(c, "default-ttl"),
            MaxTtl = Duration(c, "max-ttl"),
        };
        if (s.DefaultTtl > s.MaxTtl) throw new ConfigurationException("paxos.locks.default-ttl: is above paxos.locks.max-ttl");
        return s;
    }

    private static TimeSpan Duration(Config c, string key)
    {
        TimeSpan value;
        try
        {
            value = c.GetTimeSpan(key);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"paxos.locks.{key}: {e.Message}");
        }
        return value > TimeSpan.Zero ? value : throw new ConfigurationException($"paxos.locks.{key}: must be positive");
    }
}
