using System.Net;
using System.Text;
using System.Text.Json;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Node.Launch;
using Xunit.Abstractions;

namespace PaxosActors.Cluster.Tests;

/// <summary>
/// <c>paxos.http.redirect-writes</c> on three real node processes: a node that does not lead answers writes with 307 and
/// the same request at the leader's announced client URL (and <c>X-Leader</c>), serves reads where they arrive, and
/// once the leader is SIGKILLed sends clients to the new leader, not the dead one. Without the setting (every other
/// cluster test) a follower takes the write itself.
/// </summary>
public sealed class LeaderRedirectSpec(ITestOutputHelper output) : IDisposable
{
    private readonly List<NodeProcess> _nodes = [];
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
    // Redirects are what the test looks at: none is followed by the client.
    private readonly HttpClient _http = new(new HttpClientHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        foreach (var node in _nodes) node.Dispose();
        _http.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task A_follower_sends_writes_to_the_leader_and_after_the_leader_dies_to_the_new_one()
    {
        var http = FreePorts.Take(3);
        var remote = FreePorts.Take(3);
        _nodes.AddRange(NodeLaunch.LoopbackCluster(http, remote, _dataDir, "multi", "WARNING")
            .Select(l => new NodeProcess(l with { ExtraArgs = ["--redirect-writes"] })));
        foreach (var node in _nodes) node.Start();
        foreach (var node in _nodes) await node.WaitReadyAsync(TimeSpan.FromSeconds(60));

        int leaderId = await AgreedLeaderAsync(_nodes, TimeSpan.FromSeconds(30));
        var leader = _nodes[leaderId - 1];
        var follower = _nodes.First(n => n.Id != leaderId);
        output.WriteLine($"leader {leaderId} at {leader.Url}; asking follower {follower.Id} at {follower.Url}");
        // A follower can hear the leader's heartbeats before it sees the leader's cluster membership, which carries its
        // client URL; until then it forwards (documented). Wait for that on a key of its own.
        await Eventually.Holds(async () =>
        {
            using var probe = await SendAsync(HttpMethod.Put, follower.Url + "/kv/probe", "p");
            Assert.Equal(HttpStatusCode.TemporaryRedirect, probe.StatusCode);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

        // A write at a follower: 307 to the same target at the leader (the encoded key and the query kept), nothing done here.
        string target = "/kv/a%2Fb%20c?note=1";
        using (var put = await SendAsync(HttpMethod.Put, follower.Url + target, "v1"))
        {
            Assert.Equal(HttpStatusCode.TemporaryRedirect, put.StatusCode);
            Assert.Equal(new Uri(leader.Url + target), put.Headers.Location);
            Assert.Equal(leader.Url, Assert.Single(put.Headers.GetValues("X-Leader")));
        }
        using (var absent = await SendAsync(HttpMethod.Get, follower.Url + "/kv/a%2Fb%20c?consistency=serializable"))
            Assert.Equal(HttpStatusCode.NotFound, absent.StatusCode);

        // Followed by hand, it is taken by the leader; the follower then serves the value (reads are never redirected).
        using (var put = await SendAsync(HttpMethod.Put, leader.Url + target, "v1"))
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        using (var get = await SendAsync(HttpMethod.Get, follower.Url + "/kv/a%2Fb%20c"))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal("v1", await get.Content.ReadAsStringAsync());
        }

        // DELETE and compare-and-set are writes too; bad input is still refused where it arrives.
        using (var delete = await SendAsync(HttpMethod.Delete, follower.Url + "/kv/x"))
        {
            Assert.Equal(HttpStatusCode.TemporaryRedirect, delete.StatusCode);
            Assert.Equal(new Uri(leader.Url + "/kv/x"), delete.Headers.Location);
        }
        using (var cas = await SendAsync(HttpMethod.Post, follower.Url + "/cas/x", "{\"expected\":null,\"value\":\"1\"}"))
            Assert.Equal(HttpStatusCode.TemporaryRedirect, cas.StatusCode);
        using (var bad = await SendAsync(HttpMethod.Put, follower.Url + "/kv/%FF", "v"))
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        // /status names where each member takes clients.
        using (var status = JsonDocument.Parse(await _http.GetStringAsync(follower.Url + "/status")))
        {
            var urls = status.RootElement.GetProperty("members").EnumerateArray()
                .ToDictionary(m => m.GetProperty("node_id").GetInt32(), m => m.GetProperty("client_url").GetString());
            foreach (var node in _nodes) Assert.Equal(node.Url + "/", urls[node.Id]);
        }

        // The leader dies: the survivors elect another and send writes there, and following the redirect writes.
        leader.Kill();
        var survivors = _nodes.Where(n => n.Id != leaderId).ToList();
        int newLeader = await AgreedLeaderAsync(survivors, TimeSpan.FromSeconds(30));
        Assert.NotEqual(leaderId, newLeader);
        var other = survivors.First(n => n.Id != newLeader);
        await Eventually.Holds(async () =>
        {
            using var put = await SendAsync(HttpMethod.Put, other.Url + "/kv/after", "v2");
            Assert.Equal(HttpStatusCode.TemporaryRedirect, put.StatusCode);
            Assert.Equal(new Uri(_nodes[newLeader - 1].Url + "/kv/after"), put.Headers.Location);
            using var followed = await SendAsync(HttpMethod.Put, put.Headers.Location!.ToString(), "v2");
            Assert.Equal(HttpStatusCode.NoContent, followed.StatusCode);
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        using (var get = await SendAsync(HttpMethod.Get, other.Url + "/kv/after"))
            Assert.Equal("v2", await get.Content.ReadAsStringAsync());
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string url, string? body = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8);
        return await _http.SendAsync(request);
    }

    /// <summary>The leader every node in <paramref name="nodes"/> names in /status, once they agree, each of their acceptors
    /// votes, and the leader takes a write. A new acceptor votes once every other one has recorded it: killing a node
    /// before that leaves an acceptor waiting for the dead node's word, and two nodes of three without a quorum.</summary>
    private Task<int> AgreedLeaderAsync(IReadOnlyList<NodeProcess> nodes, TimeSpan timeout) => Eventually.Returns(async () =>
    {
        var named = new HashSet<int>();
        foreach (var node in nodes)
        {
            using var status = JsonDocument.Parse(await _http.GetStringAsync(node.Url + "/status"));
            var acceptor = status.RootElement.GetProperty("acceptor");
            Assert.True(acceptor.GetProperty("votes").GetBoolean(), $"node {node.Id}'s acceptor: {acceptor.GetProperty("state").GetString()}");
            var leader = status.RootElement.GetProperty("leader");
            Assert.Equal(JsonValueKind.Number, leader.ValueKind);
            named.Add(leader.GetInt32());
        }
        int id = Assert.Single(named);
        Assert.Contains(nodes, n => n.Id == id);
        using var put = await SendAsync(HttpMethod.Put, nodes.First(n => n.Id == id).Url + "/kv/warm-up", "0");
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        return id;
    }, timeout, TimeSpan.FromMilliseconds(200));
}
