using System.Text;

namespace PaxosActors.Node.Tests;

/// <summary><c>paxos.diagnostics.trace-hops</c>: on, one write leaves a timestamp and a thread id at every point of its
/// path, served at GET /debug/trace; off (the default), the endpoint does not exist.</summary>
public sealed class HopTraceTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    // The points of one PUT on a node that is a whole cluster (its own proposer, acceptor, journal and learner).
    private static readonly string[] PathOfOneWrite =
    [
        "http-entry", "kv-submit", "proposer_recv_Propose", "proposer_send_Accept>acceptor", "acceptor_recv_Accept",
        "persist-request", "journal-enqueue", "journal-commit", "journal-continuation", "persist-done",
        "acceptor_send_Accepted>learner", "learner_recv_Accepted", "apply", "kv-complete", "kv-resume", "http-return",
        "http-written",
    ];

    [Fact]
    public async Task On_one_write_records_every_hop_with_a_time_and_a_thread()
    {
        using var node = await TestNode.StartWritableAsync(TestNode.Start(configText: "paxos.diagnostics.trace-hops = on\n"));
        var clear = await node.Http.GetAsync("debug/trace?clear=true");
        Assert.True(clear.IsSuccessStatusCode, $"{clear.StatusCode}: {node.Output}");

        var put = await node.Http.PutAsync("kv/traced", new ByteArrayContent(Encoding.UTF8.GetBytes("v")));
        Assert.Equal(204, (int)put.StatusCode);

        // http-written is recorded once the response is sent, a moment after the client has it: poll, with a deadline.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<string[]> hops;
        while (true)
        {
            string dump = await node.Http.GetStringAsync("debug/trace");
            Assert.StartsWith("# frequency ", dump);
            hops = dump.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('#')).Select(l => l.Split(' ')).ToList();
            var names = hops.Select(h => h[3]).ToHashSet();
            var missing = PathOfOneWrite.Where(p => !names.Contains(p)).ToList();
            if (missing.Count == 0) break;
            Assert.True(DateTime.UtcNow < deadline, $"missing hops: {string.Join(", ", missing)}\n{dump}");
            await Task.Delay(50);
        }
        foreach (var h in hops)
        {
            Assert.Equal(6, h.Length);
            Assert.True(long.Parse(h[0]) > 0 && int.Parse(h[1]) > 0, string.Join(' ', h));
        }
        // In the order the request passed them (the first time each was seen).
        var first = PathOfOneWrite.Select(p => hops.Where(h => h[3] == p).Min(h => long.Parse(h[0]))).ToList();
        Assert.Equal(first.OrderBy(t => t), first);
        // The vote of the written slot: the acceptor's Accept, its persist callback and its Accepted carry the same slot.
        long slot = long.Parse(hops.First(h => h[3] == "acceptor_recv_Accept")[4]);
        Assert.Contains(hops, h => h[3] == "persist-done" && long.Parse(h[4]) == slot);
        Assert.Contains(hops, h => h[3] == "apply" && long.Parse(h[4]) == slot);
    }

    [Fact]
    public async Task Off_by_default_there_is_no_trace_endpoint()
    {
        var put = await fixture.SendAsync("PUT", "/kv/untraced", Encoding.UTF8.GetBytes("v"));
        Assert.Equal(204, put.Status);
        var r = await fixture.SendAsync("GET", "/debug/trace");
        Assert.Equal(404, r.Status);
        Assert.DoesNotContain("frequency", r.BodyText);
    }
}
