using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Coordination;
using PaxosActors.Hosting.Tests.Support;
using PaxosActors.Persistence;

namespace PaxosActors.Hosting.Tests;

/// <summary><c>builder.WithPaxos(...)</c>: Paxos in an application's own ActorSystem, typed options over HOCON.</summary>
public sealed class WithPaxosSpec : HostedNodeSpec
{
    // The application's HOCON: an id the typed option overrides, an election timeout nothing overrides, and the
    // application's own default journal, which Paxos must leave alone.
    protected override string ApplicationHocon => """
        paxos.node-id = 7
        paxos.election-timeout = 450ms
        akka.persistence.journal.plugin = "akka.persistence.journal.inmem"
        """;

    [Fact]
    public async Task Typed_options_win_over_HOCON_and_HOCON_sets_the_rest()
    {
        var node = await NodeAsync();
        Assert.Equal(1, node.Settings.NodeId);                                   // option over paxos.node-id = 7
        Assert.Equal(TimeSpan.FromMilliseconds(450), node.Settings.ElectionTimeout); // HOCON
        Assert.Equal([1], node.Settings.Acceptors);
        Assert.Contains("node-1", Akka.Cluster.Cluster.Get(Sys).SelfRoles);
    }

    [Fact]
    public async Task The_agents_journal_to_their_own_SQLite_file_and_the_application_keeps_its_default_journal()
    {
        var node = await NodeAsync();
        var config = Sys.Settings.Config;
        Assert.Equal("akka.persistence.journal.inmem", config.GetString("akka.persistence.journal.plugin"));
        Assert.Equal(SqliteJournal.JournalPluginId, PersistencePlugins.From(config).Journal);
        Assert.Equal(SqliteJournal.SnapshotPluginId, PersistencePlugins.From(config).Snapshots);
        await AwaitAssertAsync(() => Assert.True(File.Exists(node.Settings.DatabasePath)), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_role_registered_in_code_runs_and_its_commands_go_through_the_log()
    {
        var node = await NodeAsync();
        Assert.Contains(node.RoleInstances, r => r is LeaseRole);
        var leases = node.Service<LeaseService>()!;
        var granted = await leases.AcquireAsync("hosting", "app", TimeSpan.FromSeconds(30));
        Assert.True(granted.Ok);
        Assert.Equal("app", granted.Owner);
        Assert.Equal("app", (await leases.ReadAsync("hosting")).Owner);
    }

    [Fact]
    public async Task A_node_whose_cluster_roles_lost_its_id_role_refuses_to_start_and_says_why()
    {
        // As when ClusterOptions.Roles are set after WithPaxos: the ActorSystem's roles lack node-1.
        var config = ConfigurationFactory.ParseString($$"""
            paxos { node-id = 1, acceptors = [1], data-dir = {{HoconString.Quote(DataDir)}} }
            akka.cluster.roles = [acceptor, proposer, learner]
            """);
        var plan = PaxosNodeHost.Plan(config, null, hosted: true);
        var system = ActorSystem.Create("paxos-misconfigured", ConfigurationFactory.ParseString("""
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
                akka.loglevel = OFF
                """).WithFallback(config).WithFallback(plan.Defaults));
        try
        {
            var e = Assert.Throws<ConfigurationException>(() => PaxosNodeHost.Attach(system, plan));
            Assert.Contains("node-1", e.Message);
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
