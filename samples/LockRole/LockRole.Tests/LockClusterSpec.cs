using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Akka.Actor;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using PaxosActors.Core.Protocol;
using PaxosActors.Http;
using PaxosActors.Node.Launch;
using PaxosActors.Replication;
using Samples.Locks;

namespace LockRole.Tests;

/// <summary>The locks role on three nodes: commands proposed through the log from any node, applied once on every node,
/// tokens that only grow, the state a restarted node recovers, and the HTTP routes.</summary>
public sealed class LockClusterSpec(LockCluster cluster) : IClassFixture<LockCluster>
{
    [Fact]
    public async Task Owners_contending_through_different_nodes_get_the_lock_one_at_a_time_with_growing_tokens()
    {
        var alice = await LockCluster.Eventually(() => cluster.Locks(1).AcquireAsync("contended", "alice"));
        var bob = await cluster.Locks(2).AcquireAsync("contended", "bob");
        var released = await cluster.Locks(3).ReleaseAsync("contended", "alice", alice.Token!.Value);
        var bobAgain = await cluster.Locks(2).AcquireAsync("contended", "bob");

        Assert.True(alice.Ok);
        Assert.Equal((false, "alice", alice.Token), (bob.Ok, bob.Owner, bob.Token));
        Assert.True(released.Ok);
        Assert.True(bobAgain.Ok);
        Assert.True(bobAgain.Token > alice.Token);
        var read = await cluster.Locks(1).ReadAsync("contended");
        Assert.Equal(("bob", bobAgain.Token), (read.Owner, read.Token));
        // Every node applied the same commands: the same last token everywhere.
        await LockCluster.Until(() => new[] { 1, 2, 3 }.Select(id => cluster[id].Service<LockView>()!.Current.LastToken).Distinct().Count() == 1,
            "every node's table gave the same last token");
    }

    [Fact]
    public async Task A_command_proposed_twice_with_one_session_id_is_applied_once_and_reported_once()
    {
        await LockCluster.Eventually(() => cluster.Locks(2).ReadAsync("warm-up"));
        var seen = new ConcurrentQueue<AppliedCommand>();
        var subscriber = cluster[2].System.ActorOf(Props.Create(() => new Collector(seen)));
        cluster[2].Applied.Subscribe(subscriber);
        long before = cluster[2].Service<LockView>()!.Current.LastToken;

        // What CommandClient does when its first copy is slow: the same frame (session, seq) proposed again, here three
        // copies through two nodes.
        var id = new ClientCommandId(0xC0FFEE, 1);
        byte[] frame = CommandFrame.Encode(Samples.Locks.LockRole.StateMachineName,
            LockJson.Encode(new LockCommand(LockCommand.Acquire, "retried", "carol", null, 60_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())),
            id, ackedBelow: 0);
        cluster[1].Paxos.Proposer!.Tell(new Propose(new SlotValue([frame]), 0));
        cluster[2].Paxos.Proposer!.Tell(new Propose(new SlotValue([frame, frame]), 0));
        // Reads through the same proposers go into the log behind the copies they sent: once node 2 has applied both
        // reads, it has applied every copy.
        await cluster.Locks(1).ReadAsync("retried");
        var after = await cluster.Locks(2).ReadAsync("retried");

        Assert.Equal("carol", after.Owner);
        Assert.Equal(before + 1, cluster[2].Service<LockView>()!.Current.LastToken);
        Assert.Single(seen, c => c.Id == id);
    }

    [Fact]
    public async Task A_restarted_node_recovers_the_lock_table_and_keeps_counting_tokens_from_there()
    {
        long last = 0;
        for (int i = 0; i < 20; i++)
            last = (await LockCluster.Eventually(() => cluster.Locks(1 + i % 2).AcquireAsync($"many-{i}", "dora"))).Token!.Value;
        await LockCluster.Until(() => cluster[3].Service<LockView>()!.Current.LastToken == last, "node 3 caught up");

        await cluster.StopAsync(3);
        cluster.Start(3);
        await LockCluster.Until(() => cluster[3].Service<LockView>()!.Current.LastToken == last, "node 3 recovered its table", TimeSpan.FromSeconds(60));
        var next = await LockCluster.Eventually(() => cluster.Locks(3).AcquireAsync("after-restart", "erin"), TimeSpan.FromSeconds(60));

        Assert.Equal(last + 1, next.Token);
    }

    [Fact]
    public async Task The_routes_acquire_release_and_read_locks_over_http_with_json_and_status_codes()
    {
        await LockCluster.Eventually(() => cluster.Locks(1).ReadAsync("warm-up"));
        int port = FreePorts.Take(1)[0];
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        await using var app = builder.Build();
        var context = cluster[1];
        var prefixes = RoleEndpoints.Map(app, context.RoleInstances, () => context);
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var acquired = await http.PostAsJsonAsync("/roles/locks/door/acquire", new { owner = "frank", ttl_ms = 60_000 });
        var refused = await http.PostAsJsonAsync("/roles/locks/door/acquire", new { owner = "gina" });
        var read = await http.GetAsync("/roles/locks/door");
        using var body = JsonDocument.Parse(await acquired.Content.ReadAsStringAsync());
        long token = body.RootElement.GetProperty("token").GetInt64();
        var wrongToken = await http.PostAsJsonAsync("/roles/locks/door/release", new { owner = "frank", token = token + 1 });
        var released = await http.PostAsJsonAsync("/roles/locks/door/release", new { owner = "frank", token });
        var malformed = await http.PostAsync("/roles/locks/door/acquire", new StringContent("{\"who\": 1}"));

        Assert.Equal("/roles/locks", prefixes["locks"]);
        Assert.Equal(HttpStatusCode.OK, acquired.StatusCode);
        Assert.True(body.RootElement.GetProperty("acquired").GetBoolean());
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("\"owner\":\"frank\"", await refused.Content.ReadAsStringAsync());
        Assert.Contains("\"held\":true", await read.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Conflict, wrongToken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("\"error\"", await malformed.Content.ReadAsStringAsync());
        await app.StopAsync();
    }

    private sealed class Collector : ReceiveActor
    {
        public Collector(ConcurrentQueue<AppliedCommand> seen) =>
            Receive<SlotApplied>(slot =>
            {
                foreach (var c in slot.Commands) seen.Enqueue(c);
            });
    }
}
