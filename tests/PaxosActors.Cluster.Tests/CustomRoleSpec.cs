using System.Collections.Concurrent;
using Akka.Configuration;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Hosting;
using PaxosActors.Node.Launch;

namespace PaxosActors.Cluster.Tests;

/// <summary>A role that records the nodes it starts on, keyed by the <c>test.run</c> setting of the cluster.</summary>
public sealed class RecordingRole : INodeRole
{
    public const string RoleName = "recorder";

    public static readonly ConcurrentDictionary<string, ConcurrentBag<int>> StartedOn = new();

    public string Name => RoleName;

    public void Start(NodeContext node) =>
        StartedOn.GetOrAdd(node.Config.GetString("test.run"), _ => []).Add(node.Settings.NodeId);
}

/// <summary>Roles beyond the built-in Paxos ones: named in akka.cluster.roles, mapped to a class in paxos.roles.</summary>
public sealed class CustomRoleSpec : IAsyncLifetime
{
    private InProcessCluster? _cluster;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task A_custom_role_starts_on_exactly_the_nodes_that_name_it_in_akka_cluster_roles()
    {
        string run = Guid.NewGuid().ToString("N");
        _cluster = new InProcessCluster(3, "multi", id => $$"""
            test.run = "{{run}}"
            paxos.roles.{{RecordingRole.RoleName}} = "{{typeof(RecordingRole).FullName}}, {{typeof(RecordingRole).Assembly.GetName().Name}}"
            akka.cluster.roles = [acceptor, proposer, learner, kv{{(id is 1 or 3 ? $", {RecordingRole.RoleName}" : "")}}]
            """);
        _cluster.StartAll();
        await _cluster.AwaitUpAsync(TimeSpan.FromSeconds(20));

        Assert.Equal([1, 3], RecordingRole.StartedOn[run].Order());
        // The rest of the cluster sees the role too, on the members that run it.
        var members = Akka.Cluster.Cluster.Get(_cluster[2].System).State.Members;
        var withRole = members.Where(m => m.HasRole(RecordingRole.RoleName))
            .Select(m => PaxosActors.Routing.ClusterDirectory.NodeIdOf(m)).Order().ToList();
        Assert.Equal([1, 3], withRole);
        // And the nodes still work as a key-value store.
        await _cluster.PutAsync(2, "k", "v", TimeSpan.FromSeconds(10));
        Assert.Equal("v", await _cluster.GetAsync(3, "k"));
    }

    [Fact]
    public async Task A_custom_role_registered_in_code_starts_on_the_node_that_names_it()
    {
        string run = Guid.NewGuid().ToString("N");
        var ports = FreePorts.Take(1);
        string dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
        var config = InProcessCluster.NodeConfig(1, new Dictionary<int, int> { [1] = ports[0] }, dataDir, "multi", $$"""
            test.run = "{{run}}"
            akka.cluster.roles = [acceptor, proposer, learner, {{RecordingRole.RoleName}}]
            """);
        var host = PaxosNodeHost.Start(config, new RoleRegistry().Add(RecordingRole.RoleName, () => new RecordingRole()));
        try
        {
            Assert.Equal([1], RecordingRole.StartedOn[run]);
        }
        finally
        {
            await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public void An_unknown_role_name_fails_at_start_with_a_ConfigurationException_naming_akka_cluster_roles()
    {
        var ports = FreePorts.Take(1);
        string dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
        var config = InProcessCluster.NodeConfig(1, new Dictionary<int, int> { [1] = ports[0] }, dataDir, "multi",
            "akka.cluster.roles = [acceptor, proposer, learner, kv, no-such-role]");

        var e = Assert.Throws<ConfigurationException>(() => PaxosNodeHost.Start(config, InProcessCluster.Roles()));

        Assert.Contains("akka.cluster.roles", e.Message);
        Assert.Contains("no-such-role", e.Message);
    }
}
