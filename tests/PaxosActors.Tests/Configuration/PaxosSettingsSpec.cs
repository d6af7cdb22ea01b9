using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Tests.Configuration;

/// <summary>Settings are read once, from HOCON, and bad values fail at start naming their key.</summary>
public sealed class PaxosSettingsSpec
{
    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PaxosActors.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository root not found"), relative);
    }

    private static PaxosSettings Parse(string hocon) => PaxosSettings.Create(ConfigurationFactory.ParseString(hocon));

    [Fact]
    public void Embedded_defaults_parse_into_settings()
    {
        var s = PaxosSettings.Create(ConfigurationFactory.Empty);
        Assert.Equal(1, s.NodeId);
        Assert.True(s.MultiPaxos);
        Assert.Equal(new[] { 1 }, s.Acceptors.ToArray());
        Assert.Equal(s.Acceptors.ToArray(), s.Members.ToArray());
        Assert.True(s.BackoffCap >= s.BackoffBase);
    }

    [Theory]
    [InlineData("hocon/basic-demo.hocon")]
    public void Every_deployment_file_parses_into_settings(string file)
    {
        var config = ConfigurationFactory.ParseString(File.ReadAllText(RepoFile(file)));
        var s = PaxosSettings.Create(config);
        Assert.NotEmpty(s.Acceptors);
        Assert.True(s.ProposerOptions.ElectionTimeoutTicks > s.ProposerOptions.HeartbeatTicks);
    }

    [Fact]
    public void Memory_bounds_of_the_learner_are_sizes_with_documented_defaults_and_zero_turns_them_off()
    {
        var d = PaxosSettings.Create(ConfigurationFactory.Empty).LearnerOptions();
        Assert.Equal(32L << 20, d.SnapshotEveryBytes);
        Assert.Equal(16L << 20, d.RetainedBytes);
        Assert.Equal(4L << 20, d.MaxCatchUpBytes);
        Assert.Equal(100_000, d.RetainedValues);

        var s = Parse("paxos { snapshot-every-bytes = 0, learner { retained-values = 10, retained-bytes = 1KiB, catch-up-max-bytes = 0 } }").LearnerOptions();
        Assert.Equal(0, s.SnapshotEveryBytes);
        Assert.Equal(10, s.RetainedValues);
        Assert.Equal(1024, s.RetainedBytes);
        Assert.Equal(0, s.MaxCatchUpBytes);
        Assert.Throws<ConfigurationException>(() => Parse("paxos.learner.retained-bytes = -1"));
    }

    [Fact]
    public void Durations_become_ticks_of_the_configured_clock()
    {
        var s = Parse("paxos { tick-interval = 10ms, phase-timeout = 95ms, backoff { base = 20ms, cap = 1s } }");
        Assert.Equal(10, s.ProposerOptions.PhaseTimeoutTicks); // rounded up, never to zero
        Assert.Equal(2, s.ProposerOptions.BackoffBaseTicks);
        Assert.Equal(100, s.ProposerOptions.BackoffCapTicks);
    }

    [Fact]
    public void The_client_url_is_optional_and_kept_as_given()
    {
        Assert.Null(Parse("").ClientUrl);
        Assert.Equal(new Uri("https://node-2.example:8443/paxos/"), Parse("paxos.client-url = \"https://node-2.example:8443/paxos/\"").ClientUrl);
    }

    [Theory]
    [InlineData("paxos.acceptors = [1, 2, 2]", "paxos.acceptors", "listed twice")]
    [InlineData("paxos.members = [4, 4]", "paxos.members", "listed twice")]
    [InlineData("paxos.acceptors = []", "paxos.acceptors", "at least one")]
    [InlineData("paxos.acceptors = [1, -2]", "paxos.acceptors", "not positive")]
    [InlineData("paxos.node-id = 0", "paxos.node-id", "positive")]
    [InlineData("paxos.phase-timeout = 0ms", "paxos.phase-timeout", "positive")]
    [InlineData("paxos.election-timeout = -5ms", "paxos.election-timeout", "positive")]
    [InlineData("paxos.tick-interval = 0s", "paxos.tick-interval", "positive")]
    [InlineData("paxos.backoff { base = 100ms, cap = 50ms }", "paxos.backoff.cap", "below")]
    [InlineData("paxos.backoff.jitter = 1.5", "paxos.backoff.jitter", "between 0 and 1")]
    [InlineData("paxos.window = 0", "paxos.window", "positive")]
    [InlineData("paxos.mode = fast", "paxos.mode", "neither multi nor basic")]
    [InlineData("paxos.heartbeat-interval = 1s", "paxos.heartbeat-interval", "shorter than election-timeout")]
    [InlineData("paxos.supervision { min-backoff = 5s, max-backoff = 1s }", "paxos.supervision.max-backoff", "below")]
    [InlineData("paxos.batch.max-commands = many", "paxos.batch.max-commands", "cannot be read")]
    [InlineData("paxos.client-url = \"127.0.0.1:8081\"", "paxos.client-url", "not an absolute http")]
    [InlineData("paxos.client-url = \"ftp://h/\"", "paxos.client-url", "not an absolute http")]
    [InlineData("paxos.client-url = \"http://h:1/?a=b\"", "paxos.client-url", "no query")]
    public void Invalid_settings_fail_at_start_naming_the_key(string hocon, string key, string why)
    {
        var e = Assert.Throws<ConfigurationException>(() => Parse(hocon));
        Assert.StartsWith(key + ":", e.Message);
        Assert.Contains(why, e.Message);
    }
}
