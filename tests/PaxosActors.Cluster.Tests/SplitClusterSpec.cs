using System.Text;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Hosting;
using PaxosActors.Kv.Hosting;
using PaxosActors.Node.Launch;
using Xunit.Abstractions;

namespace PaxosActors.Cluster.Tests;

/// <summary>
/// Two Akka clusters that never merge, and the rule that ends the split (<see cref="SplitCluster"/>): the pure verdict,
/// then four nodes in this process split as a 30-minute chaos run left them, {1, 4} and {2, 3} with acceptors
/// [1, 2, 3], which <see cref="NodeRunner"/> must bring back into one cluster that serves.
/// </summary>
public sealed class SplitClusterSpec(ITestOutputHelper output) : IAsyncDisposable
{
    private static readonly Address A1 = Seed(1), A2 = Seed(2), A3 = Seed(3), A4 = Seed(4);
    private static readonly Address[] Seeds = [A1, A2, A3];

    private static Address Seed(int n) => new("akka.tcp", "paxos", "127.0.0.1", 5000 + n);

    [Fact]
    public void A_cluster_with_a_majority_of_the_seeds_never_leaves()
    {
        Assert.Null(SplitCluster.Decide(Seeds, [A2, A3], [A1]));
        Assert.Null(SplitCluster.Decide(Seeds, [A1, A2, A3, A4], []));
    }

    [Fact]
    public void A_minority_leaves_only_when_a_seed_outside_it_answers()
    {
        Assert.Null(SplitCluster.Decide(Seeds, [A1, A4], []));
        Assert.Null(SplitCluster.Decide(Seeds, [A1, A4], [A1]));   // an answer from inside proves nothing
        Assert.Null(SplitCluster.Decide(Seeds, [A1, A4], [A4]));   // nor one from a node that is no seed
        string? why = SplitCluster.Decide(Seeds, [A1, A4], [A2]);
        Assert.Equal($"this node's cluster holds 1 of the 3 seed nodes, and seed {A2} runs outside it (two clusters that never merge)", why);
        Assert.NotNull(SplitCluster.Decide(Seeds, [A4], [A3]));    // a node left alone by downing everyone else
        Assert.Equal([A2, A3], SplitCluster.Outside(Seeds, [A1, A4]));
    }

    [Fact]
    public void Without_seeds_there_is_nothing_to_join_and_nothing_to_decide() =>
        Assert.Null(SplitCluster.Decide([], [A1], [A2]));

    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
    private readonly List<NodeRunner> _runners = [];
    private readonly List<Task> _supervising = [];
    private readonly List<PaxosNodeHost> _hosts = [];

    /// <summary>
    /// Node 1 starts alone and founds a cluster (the first seed does, when no other seed answers), node 4 joins it; then
    /// nodes 2 and 3 form a cluster of their own (they are told only each other as seeds, as if nodes 1's address were
    /// gated for them). Acceptors 1, 2, 3: neither cluster can route a quorum... until nodes 1 and 4, whose cluster holds
    /// one seed of three while seeds 2 and 3 answer, leave it and join the seeds again; then one cluster of four serves
    /// writes through node 1 and reads through node 4. With the rule this replaced ("alone in its cluster for 15 s") the
    /// split of two against two lasts for ever and this test fails.
    /// </summary>
    [Fact]
    public async Task Two_clusters_that_never_merge_become_one_when_the_minority_of_seeds_leaves_its_cluster()
    {
        var ports = FreePorts.Take(4);
        var byId = new Dictionary<int, int> { [1] = ports[0], [2] = ports[1], [3] = ports[2] };
        string SeedsOf(params int[] ids) => string.Join(",", ids.Select(i => $"127.0.0.1:{ports[i - 1]}"));
        Config ConfigOf(int id, string seeds) => ConfigurationFactory.ParseString($"""
                paxos.seeds = "{seeds}"
                akka.remote.dot-netty.tcp.port = {ports[id - 1]}
                paxos.node-id = {id}
                akka.cluster.roles = [acceptor, proposer, learner, kv]
                """)
            .WithFallback(InProcessCluster.NodeConfig(Math.Min(id, 3), byId, _dataDir, "multi")); // node 4: node 3's timings, its own id and port

        var node1 = Run(ConfigOf(1, SeedsOf(1, 2, 3)));
        await Eventually.Holds(() => AssertMembers(node1, 1), TimeSpan.FromSeconds(20));
        var node4 = Run(ConfigOf(4, SeedsOf(1, 2, 3)));
        await Eventually.Holds(() => AssertMembers(node1, 2), TimeSpan.FromSeconds(20));
        _hosts.Add(PaxosNodeHost.Start(ConfigOf(2, SeedsOf(2, 3)), InProcessCluster.Roles()));
        _hosts.Add(PaxosNodeHost.Start(ConfigOf(3, SeedsOf(2, 3)), InProcessCluster.Roles()));
        await Eventually.Holds(() => AssertMembers(_hosts[0], 2), TimeSpan.FromSeconds(20));
        output.WriteLine("split: {1, 4} and {2, 3}");

        await Eventually.Holds(async () =>
        {
            foreach (var host in new[] { node1.Current, node4.Current, _hosts[0], _hosts[1] })
            {
                Assert.NotNull(host);
                await AssertMembers(host!, 4);
            }
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(250));
        output.WriteLine("one cluster of four");

        var kv1 = node1.Current!.Context.Service<KvService>()!;
        await Eventually.Holds(async () => Assert.True((await kv1.PutAsync("merged", Encoding.UTF8.GetBytes("yes"), CancellationToken.None)).IsOk),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        var kv4 = node4.Current!.Context.Service<KvService>()!;
        var read = await kv4.GetAsync("merged", CancellationToken.None);
        Assert.Equal("yes", read.Value is { } v ? Encoding.UTF8.GetString(v.Span) : null);
    }

    private NodeRunner Run(Config config)
    {
        var runner = new NodeRunner(config, new OutputWriter(output)) { Roles = InProcessCluster.Roles() };
        runner.Start();
        _runners.Add(runner);
        _supervising.Add(runner.SuperviseAsync());
        return runner;
    }

    private static Task AssertMembers(NodeRunner runner, int expected)
    {
        Assert.NotNull(runner.Current);
        return AssertMembers(runner.Current!, expected);
    }

    private static Task AssertMembers(PaxosNodeHost host, int expected)
    {
        var state = Akka.Cluster.Cluster.Get(host.System).State;
        int up = state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && !state.Unreachable.Contains(m));
        Assert.True(up == expected, $"node {host.Settings.NodeId} sees {up} members up, not {expected}: {string.Join(", ", state.Members)}");
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var runner in _runners) await runner.StopAsync().WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { });
        await Task.WhenAll(_supervising).WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { });
        foreach (var host in _hosts)
        {
            await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
            await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The runner's own lines ("leaving it to join the seeds again") into the test output.</summary>
    private sealed class OutputWriter(ITestOutputHelper output) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void WriteLine(string? value) => output.WriteLine(value ?? "");
    }
}
