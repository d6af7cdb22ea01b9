using System.Diagnostics;
using System.Text.Json;

namespace PaxosActors.Node.Tests;

/// <summary>
/// The chaos harness's hooks in a node: partitions it can confirm, and the control run's deliberately broken node
/// (<c>paxos.fault-injection-stale-reads</c>), which answers reads from its own state past the log. Off unless
/// <c>paxos.fault-injection = on</c>.
/// </summary>
public sealed class FaultInjectionTests
{
    private const string NoQuorum = "1,2,3"; // node 1 alone: nothing goes through the log

    private static async Task<(int Status, JsonElement Body)> Post(TestNode node, string target)
    {
        var r = await SingleNodeFixture.Send(node.HttpPort, "POST", target);
        using var doc = JsonDocument.Parse(r.Body);
        return (r.Status, doc.RootElement.Clone());
    }

    [Fact]
    public async Task A_node_with_stale_reads_answers_a_get_from_its_own_state_without_a_quorum()
    {
        using var node = TestNode.Start(acceptors: NoQuorum, configText: """
            paxos.fault-injection = on
            paxos.fault-injection-stale-reads = on
            paxos.kv.request-timeout = 3s
            """);
        await node.WaitForStatusAsync(TimeSpan.FromSeconds(60));

        // A read through the log cannot be answered without a quorum; this one is, at once, from the empty local store.
        var watch = Stopwatch.StartNew();
        var get = await SingleNodeFixture.Send(node.HttpPort, "GET", "/kv/anything");
        Assert.True(get.Status == 404, $"{get.StatusLine} {get.BodyText}");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"answered after {watch.Elapsed}: through the log?");
        // Writes still go through the log, and fail without a quorum.
        var put = await SingleNodeFixture.Send(node.HttpPort, "PUT", "/kv/anything", "x"u8.ToArray());
        Assert.True(put.Status == 503, $"{put.StatusLine} {put.BodyText}");
        Assert.Contains(node.OutputLines, l => l.Contains("FAULT INJECTION: this node answers GET /kv/{key} from its own state"));
    }

    [Fact]
    public async Task The_stale_read_setting_is_ignored_without_fault_injection()
    {
        using var node = TestNode.Start(acceptors: NoQuorum, configText: """
            paxos.fault-injection-stale-reads = on
            paxos.kv.request-timeout = 2s
            """);
        await node.WaitForStatusAsync(TimeSpan.FromSeconds(60));

        var get = await SingleNodeFixture.Send(node.HttpPort, "GET", "/kv/anything", timeout: TimeSpan.FromSeconds(30));
        Assert.True(get.Status == 503, $"a read past the log without fault injection: {get.StatusLine} {get.BodyText}");
        Assert.Contains(node.OutputLines, l => l.Contains("paxos.fault-injection-stale-reads is ignored"));
        Assert.Equal(404, (await SingleNodeFixture.Send(node.HttpPort, "POST", "/admin/block?address=127.0.0.1:9")).Status);
    }

    [Fact]
    public async Task Block_and_heal_answer_applied_once_the_transport_took_them_and_list_what_is_blocked()
    {
        using var node = TestNode.Start(configText: "paxos.fault-injection = on\n");
        await node.WaitForWritesAsync(TimeSpan.FromSeconds(60));

        var (status, block) = await Post(node, "/admin/block?address=127.0.0.1:9");
        Assert.Equal(200, status);
        Assert.True(block.GetProperty("applied").GetBoolean(), block.ToString());
        Assert.Equal(["127.0.0.1:9"], block.GetProperty("blocked").EnumerateArray().Select(e => e.GetString()));

        var (healStatus, heal) = await Post(node, "/admin/heal");
        Assert.Equal(200, healStatus);
        Assert.True(heal.GetProperty("applied").GetBoolean(), heal.ToString());
        Assert.Equal(0, heal.GetProperty("blocked").GetArrayLength());

        Assert.Equal(400, (await Post(node, "/admin/block?address=nonsense")).Status);
    }
}
