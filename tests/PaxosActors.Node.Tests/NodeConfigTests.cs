using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Hosting;
using PaxosActors.Kv.Hosting;
using PaxosActors.Node.Commands;

namespace PaxosActors.Node.Tests;

/// <summary>The node executable's configuration: its own defaults (HTTP endpoint, roles) and the key-value store's
/// fill in what a deployment file leaves out; the kv role is registered in code, not through the library's HOCON.</summary>
public sealed class NodeConfigTests
{
    [Fact]
    public void A_file_that_sets_only_the_node_id_gets_the_executables_and_the_kv_stores_defaults()
    {
        string file = Path.Combine(Path.GetTempPath(), $"paxos-node-config-{Guid.NewGuid():N}.hocon");
        File.WriteAllText(file, "paxos.node-id = 2\npaxos.acceptors = [1, 2, 3]\n");
        try
        {
            var config = NodeCommand.Load(new CommandLine(["--config", file]));

            Assert.Equal(2, PaxosSettings.Create(config).NodeId);
            Assert.Equal("127.0.0.1", config.GetString("paxos.http.host"));
            Assert.Equal(8081, config.GetInt("paxos.http.port"));
            var roles = config.GetStringList("akka.cluster.roles");
            Assert.Equal(["acceptor", "proposer", "learner", "kv"], roles);
            Assert.Equal(TimeSpan.FromSeconds(5), KvSettings.Create(config).RequestTimeout);
            var started = RoleRegistry.FromConfig(config, NodeCommand.Roles()).Create(roles);
            Assert.IsType<KvRole>(Assert.Single(started));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void The_built_in_node_hocon_and_options_parse_into_settings_with_the_kv_role()
    {
        var config = NodeCommand.Load(new CommandLine(["--node-id", "3", "--http-port", "18083", "--seeds", "127.0.0.1:14051,127.0.0.1:14052"]));

        Assert.Equal(3, PaxosSettings.Create(config).NodeId);
        Assert.Equal(18083, config.GetInt("paxos.http.port"));
        Assert.Contains("kv", config.GetStringList("akka.cluster.roles"));
        Assert.Equal(2, SeedList.Parse(config.GetString("paxos.seeds"), "paxos").Count);
    }

    [Fact]
    public void The_client_url_comes_from_the_http_listener_unless_it_is_a_wildcard_or_set()
    {
        var config = NodeCommand.Load(new CommandLine(["--http-port", "18083", "--redirect-writes"], NodeCommand.Flags));
        Assert.True(config.GetBoolean("paxos.http.redirect-writes"));
        Assert.Equal("https://127.0.0.1:18083/", NodeCommand.WithClientUrl(config, "https", "127.0.0.1", 18083).GetString("paxos.client-url"));
        Assert.Equal("http://[::1]:18083/", NodeCommand.WithClientUrl(config, "http", "::1", 18083).GetString("paxos.client-url"));
        Assert.Equal("", NodeCommand.WithClientUrl(config, "http", "0.0.0.0", 18083).GetString("paxos.client-url", ""));
        var set = ConfigurationFactory.ParseString("paxos.client-url = \"http://lb.example/\"").WithFallback(config);
        Assert.Equal("http://lb.example/", NodeCommand.WithClientUrl(set, "http", "127.0.0.1", 18083).GetString("paxos.client-url"));
        Assert.False(NodeCommand.Load(new CommandLine([])).GetBoolean("paxos.http.redirect-writes"));
    }

    [Fact]
    public void The_library_defaults_alone_do_not_know_the_kv_role()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            RoleRegistry.FromConfig(PaxosSettings.DefaultConfig).Create(["kv"]));
        Assert.Contains("no role named 'kv'", e.Message);
    }
}
