using Akka.Configuration;

namespace PaxosActors.Configuration;

/// <summary>The typed <c>paxos.commands</c> section: how roles' commands are submitted (<see cref="Replication.CommandClient"/>)
/// and how long the replicated state remembers a silent client session.</summary>
public sealed class CommandSettings
{
    private CommandSettings() { }

    /// <summary>A command not applied within this long fails with an unknown outcome.</summary>
    public TimeSpan RequestTimeout { get; private init; }

    /// <summary>A command not applied within this long is proposed again with the same id.</summary>
    public TimeSpan RetryInterval { get; private init; }

    /// <summary>A client session the log has not carried for this many slots is forgotten. Must match on every node.</summary>
    public long SessionExpirySlots { get; private init; }

    /// <summary>Reads <c>paxos.commands</c> of <paramref name="config"/>, defaults filled in.</summary>
    public static CommandSettings Create(Config config)
    {
        var withDefaults = ReferenceEquals(config, PaxosSettings.DefaultConfig) ? config : config.WithFallback(PaxosSettings.DefaultConfig);
        var c = withDefaults.GetConfig("paxos.commands")
                ?? throw new ConfigurationException("paxos.commands: the section is missing");
        var s = new CommandSettings
        {
            RequestTimeout = Read(() => c.GetTimeSpan("request-timeout"), "request-timeout"),
            RetryInterval = Read(() => c.GetTimeSpan("retry-interval"), "retry-interval"),
            SessionExpirySlots = Read(() => c.GetLong("session-expiry-slots"), "session-expiry-slots"),
        };
        if (s.RequestTimeout <= TimeSpan.Zero) throw new ConfigurationException("paxos.commands.request-timeout: must be positive");
        if (s.RetryInterval <= TimeSpan.Zero) throw new ConfigurationException("paxos.commands.retry-interval: must be positive");
        if (s.SessionExpirySlots <= 0) throw new ConfigurationException("paxos.commands.session-expiry-slots: must be positive");
        return s;
    }

    private static T Read<T>(Func<T> read, string key)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException($"paxos.commands.{key}: {e.Message}");
        }
    }
}
