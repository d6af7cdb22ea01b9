using System.Diagnostics;
using System.Text;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Routing;

namespace PaxosActors.Cluster.Tests;

/// <summary>Three nodes in this process, each a full PaxosNodeHost (ActorSystem, cluster member, SQLite
/// journal, Paxos actors, kv role), driven through each node's KvService.</summary>
public sealed class InProcessClusterSpec : IAsyncLifetime
{
    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Commit = TimeSpan.FromSeconds(10);

    private InProcessCluster _cluster = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private async Task<InProcessCluster> StartClusterAsync(string mode)
    {
        _cluster = new InProcessCluster(3, mode);
        _cluster.StartAll();
        await _cluster.AwaitUpAsync(Formation);
        await _cluster.AwaitAcceptorsVotingAsync(Formation);
        return _cluster;
    }

    private static ReadOnlyMemory<byte>? Bytes(string? s) => s is null ? null : Encoding.UTF8.GetBytes(s);

    private static string? Text(ReadOnlyMemory<byte>? v) => v is { } m ? Encoding.UTF8.GetString(m.Span) : null;

    [Fact]
    public async Task A_write_through_node_1_is_readable_through_node_3_in_multi_mode()
    {
        var cluster = await StartClusterAsync("multi");

        await cluster.PutAsync(1, "greeting", "hello", Commit);

        Assert.Equal("hello", await cluster.GetAsync(3, "greeting"));
        Assert.Equal("hello", await cluster.GetAsync(2, "greeting"));
        Assert.Null(await cluster.GetAsync(3, "never-written"));
        int leader = await cluster.AwaitLeaderAsync(Commit);
        Assert.Contains(leader, cluster.Ids);
    }

    [Fact]
    public async Task A_write_through_node_1_is_readable_through_node_3_in_basic_mode()
    {
        var cluster = await StartClusterAsync("basic");

        await cluster.PutAsync(1, "greeting", "hello", Commit);
        await cluster.PutAsync(2, "greeting", "hello again", Commit);

        Assert.Equal("hello again", await cluster.GetAsync(3, "greeting"));
        Assert.Equal("hello again", await cluster.GetAsync(1, "greeting"));
    }

    [Theory]
    [InlineData("multi")]
    [InlineData("basic")]
    public async Task Concurrent_writes_through_every_node_are_all_applied_everywhere(string mode)
    {
        var cluster = await StartClusterAsync(mode);
        await cluster.PutAsync(1, "warm-up", "x", Commit);

        // Three proposers at once: in basic mode they duel for every slot and must converge (backoff).
        var writes = cluster.Ids.SelectMany(id => Enumerable.Range(0, 15).Select(i => (Node: id, Key: $"n{id}-{i}", Value: $"v{id}-{i}"))).ToList();
        await Task.WhenAll(writes.Select(w => cluster.PutAsync(w.Node, w.Key, w.Value, Commit)));

        foreach (int id in cluster.Ids)
        foreach (var w in writes)
            Assert.Equal(w.Value, await cluster.GetAsync(id, w.Key));
    }

    [Fact]
    public async Task Compare_and_set_swaps_only_when_the_key_holds_the_expected_value_on_whichever_node_it_runs()
    {
        var cluster = await StartClusterAsync("multi");
        await cluster.PutAsync(1, "warm-up", "x", Commit); // a leader is elected and the cluster routes

        var created = await cluster.Kv(1).CompareAndSetAsync("cas", null, Bytes("a"), CancellationToken.None);
        Assert.True(created.Swapped, "absent -> a");

        var createAgain = await cluster.Kv(2).CompareAndSetAsync("cas", null, Bytes("z"), CancellationToken.None);
        Assert.False(createAgain.Swapped, "absent expected, but the key holds a");
        Assert.Equal("a", Text(createAgain.Value));

        var swapped = await cluster.Kv(2).CompareAndSetAsync("cas", Bytes("a"), Bytes("b"), CancellationToken.None);
        Assert.True(swapped.Swapped, "a -> b");

        var stale = await cluster.Kv(3).CompareAndSetAsync("cas", Bytes("a"), Bytes("c"), CancellationToken.None);
        Assert.False(stale.Swapped, "a expected, but the key holds b");
        Assert.Equal("b", Text(stale.Value));

        Assert.Equal("b", await cluster.GetAsync(1, "cas"));

        var deleted = await cluster.Kv(3).CompareAndSetAsync("cas", Bytes("b"), null, CancellationToken.None);
        Assert.True(deleted.Swapped, "b -> absent");
        Assert.Null(await cluster.GetAsync(1, "cas"));
        Assert.Null(await cluster.GetAsync(2, "cas"));
    }

    [Fact]
    public async Task A_new_leader_commits_a_write_within_10_seconds_after_the_leader_stops()
    {
        var cluster = await StartClusterAsync("multi");
        await cluster.PutAsync(1, "before", "1", Commit);
        int leader = await cluster.AwaitLeaderAsync(Commit);
        int survivor = cluster.Ids.First(id => id != leader);

        await cluster.StopAsync(leader);
        var watch = Stopwatch.StartNew();
        await cluster.PutAsync(survivor, "after", "2", Commit);
        var failover = watch.Elapsed;

        Assert.True(failover < TimeSpan.FromSeconds(10), $"the write after the leader stopped took {failover.TotalSeconds:0.0} s");
        int newLeader = await cluster.AwaitLeaderAsync(Commit, not: leader);
        Assert.NotEqual(leader, newLeader);
        foreach (int id in cluster.Running)
        {
            Assert.Equal("1", await cluster.GetAsync(id, "before"));
            Assert.Equal("2", await cluster.GetAsync(id, "after"));
        }
    }

    [Fact]
    public async Task A_restarted_node_catches_up_on_the_writes_made_while_it_was_down()
    {
        var cluster = await StartClusterAsync("multi");
        await cluster.PutAsync(1, "k0", "v0", Commit);
        int leader = await cluster.AwaitLeaderAsync(Commit);
        int down = leader; // the harder case: the node that stops is the leader
        int writer = cluster.Ids.First(id => id != down);

        await cluster.StopAsync(down);
        for (int i = 1; i <= 20; i++) await cluster.PutAsync(writer, $"k{i}", $"v{i}", Commit);
        await cluster.PutAsync(writer, "k0", "v0-overwritten", Commit);

        cluster.Start(down); // same node id, same data dir, same port: a new incarnation
        await cluster.AwaitUpAsync(Formation);

        await Eventually.Holds(async () => Assert.Equal("v0-overwritten", await cluster.GetAsync(down, "k0")), Commit);
        for (int i = 1; i <= 20; i++) Assert.Equal($"v{i}", await cluster.GetAsync(down, $"k{i}"));
        // It serves new writes too.
        await cluster.PutAsync(down, "k21", "v21", Commit);
        Assert.Equal("v21", await cluster.GetAsync(writer, "k21"));
    }

    [Fact]
    public async Task A_crashed_leader_that_never_left_the_cluster_rejoins_on_restart_and_catches_up()
    {
        var cluster = await StartClusterAsync("multi");
        await cluster.PutAsync(1, "k0", "v0", Commit);
        int leader = await cluster.AwaitLeaderAsync(Commit);
        int writer = cluster.Ids.First(id => id != leader);

        await cluster.CrashAsync(leader);
        var watch = Stopwatch.StartNew();
        // It did not leave: the survivors' failure detectors find it unreachable (before the resolver downs it).
        var seenUnreachable = Eventually.Holds(() =>
        {
            var state = Akka.Cluster.Cluster.Get(cluster[writer].System).State;
            Assert.Contains(state.Unreachable, m => ClusterDirectory.NodeIdOf(m) == leader);
            return Task.CompletedTask;
        }, Commit, TimeSpan.FromMilliseconds(50));
        await cluster.PutAsync(writer, "k1", "v1", Commit);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the first write after the crash took {watch.Elapsed.TotalSeconds:0.0} s");
        for (int i = 2; i <= 10; i++) await cluster.PutAsync(writer, $"k{i}", $"v{i}", Commit);
        await seenUnreachable;

        cluster.Start(leader); // a new incarnation on the address of one the others may not have downed yet
        await cluster.AwaitUpAsync(Formation);

        await Eventually.Holds(async () => Assert.Equal("v10", await cluster.GetAsync(leader, "k10")), Commit);
        for (int i = 0; i <= 9; i++) Assert.Equal($"v{i}", await cluster.GetAsync(leader, $"k{i}"));
        await cluster.PutAsync(leader, "k11", "v11", Commit);
        Assert.Equal("v11", await cluster.GetAsync(writer, "k11"));
    }
}
