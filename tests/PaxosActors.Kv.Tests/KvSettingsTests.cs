using Akka.Configuration;
using PaxosActors.Kv.Hosting;

namespace PaxosActors.Kv.Tests;

/// <summary><c>paxos.kv</c>: its defaults ship in the Kv assembly, and a configuration overrides them key by key.</summary>
public sealed class KvSettingsTests
{
    [Fact]
    public void An_empty_configuration_gets_the_embedded_defaults()
    {
        var s = KvSettings.Create(ConfigurationFactory.Empty);
        Assert.Equal(1024 * 1024, s.MaxValueBytes);
        Assert.Equal(1024, s.MaxKeyBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), s.RequestTimeout);
        Assert.Equal(TimeSpan.FromSeconds(1), s.RetryInterval);
        Assert.Equal(1_000_000, s.SessionExpirySlots);
    }

    [Fact]
    public void A_key_set_in_the_configuration_overrides_only_that_default()
    {
        var s = KvSettings.Create(ConfigurationFactory.ParseString("paxos.kv.request-timeout = 2s"));
        Assert.Equal(TimeSpan.FromSeconds(2), s.RequestTimeout);
        Assert.Equal(1024, s.MaxKeyBytes);
    }

    [Fact]
    public void An_invalid_value_fails_naming_its_key()
    {
        var e = Assert.Throws<ConfigurationException>(() => KvSettings.Create(ConfigurationFactory.ParseString("paxos.kv.max-key-bytes = 0")));
        Assert.StartsWith("paxos.kv.max-key-bytes:", e.Message);
    }
}
