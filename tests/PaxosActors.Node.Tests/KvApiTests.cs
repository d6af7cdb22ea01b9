using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace PaxosActors.Node.Tests;

/// <summary>The HTTP API of one real node process (a cluster of one acceptor).</summary>
public sealed class KvApiTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private const int MaxValueBytes = 1024 * 1024;
    private const int MaxKeyBytes = 1024;

    private Task<RawResponse> Send(string method, string target, byte[]? body = null, bool chunked = false, IEnumerable<string>? headers = null) =>
        fixture.SendAsync(method, target, body, chunked, headers);

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static void AssertJsonError(RawResponse r, int status)
    {
        Assert.True(r.Status == status, $"expected {status}, got {r.StatusLine}: {r.BodyText}");
        Assert.StartsWith("application/json", r.Header("Content-Type") ?? "");
        Assert.True(r.IsJsonError(), $"not a JSON error: {r.BodyText}");
    }

    private async Task AssertValue(string target, byte[] expected)
    {
        var r = await Send("GET", target);
        Assert.True(r.Status == 200, $"GET {target}: {r.StatusLine} {r.BodyText}");
        Assert.Equal(expected, r.Body);
    }

    private async Task AssertAbsent(string target)
    {
        var r = await Send("GET", target);
        AssertJsonError(r, 404);
    }

    private async Task Put(string target, byte[] value)
    {
        var r = await Send("PUT", target, value);
        Assert.True(r.Status == 204, $"PUT {target}: {r.StatusLine} {r.BodyText}");
    }

    private static string Unique(string name) => $"{name}-{Guid.NewGuid():N}";

    [Fact]
    public async Task A_put_then_a_get_returns_exactly_the_bytes_written()
    {
        string key = Unique("plain");
        await Put($"/kv/{key}", Utf8("hello, world"));
        await AssertValue($"/kv/{key}", Utf8("hello, world"));
    }

    [Fact]
    public async Task A_binary_value_with_every_byte_value_round_trips()
    {
        var value = Enumerable.Range(0, 256).Select(i => (byte)i).Concat(Enumerable.Range(0, 256).Select(i => (byte)(255 - i))).ToArray();
        string key = Unique("binary");
        await Put($"/kv/{key}", value);
        await AssertValue($"/kv/{key}", value);
    }

    [Fact]
    public async Task An_empty_value_is_stored_and_read_back_as_empty_not_as_missing()
    {
        string key = Unique("empty");
        await Put($"/kv/{key}", []);
        await AssertValue($"/kv/{key}", []);
    }

    [Fact]
    public async Task A_utf8_key_given_percent_encoded_round_trips()
    {
        string key = "ключ-" + Guid.NewGuid().ToString("N");
        string target = "/kv/" + Uri.EscapeDataString(key);
        await Put(target, Utf8("значение"));
        await AssertValue(target, Utf8("значение"));
    }

    [Fact]
    public async Task A_key_with_slashes_is_one_key_through_the_catch_all_route()
    {
        string key = Unique("a/b/c");
        await Put($"/kv/{key}", Utf8("deep"));
        await AssertValue($"/kv/{key}", Utf8("deep"));
        await AssertAbsent($"/kv/{key[..key.IndexOf('/')]}");
    }

    [Fact]
    public async Task A_key_with_an_encoded_slash_round_trips()
    {
        string id = Guid.NewGuid().ToString("N");
        await Put($"/kv/a%2Fb-{id}", Utf8("encoded slash"));
        await AssertValue($"/kv/a%2Fb-{id}", Utf8("encoded slash"));
    }

    [Fact]
    public async Task A_percent_encoded_slash_and_a_literal_percent_sign_name_different_keys()
    {
        // "a/b" escaped is "a%2Fb"; the key "a%2Fb" escaped is "a%252Fb": two keys, two values.
        string id = Guid.NewGuid().ToString("N");
        await Put($"/kv/a%2Fb-{id}", Utf8("slash"));
        await Put($"/kv/a%252Fb-{id}", Utf8("percent"));
        await AssertValue($"/kv/a%2Fb-{id}", Utf8("slash"));
        await AssertValue($"/kv/a%252Fb-{id}", Utf8("percent"));
    }

    [Fact]
    public async Task A_key_that_is_not_valid_utf8_is_refused_with_400_and_changes_nothing()
    {
        string id = Guid.NewGuid().ToString("N");
        foreach (var bad in new[] { "%FF", "%C3%28", "%ED%A0%80", "%C0%AF" })
        {
            var r = await Send("PUT", $"/kv/{id}{bad}", Utf8("x"));
            AssertJsonError(r, 400);
        }
        // nothing under the literal text either
        await AssertAbsent($"/kv/{id}%25FF");
        await AssertAbsent($"/kv/{id}%25C3%2528");
    }

    [Fact]
    public async Task A_get_reads_linearizably_by_default_or_serializably_when_asked_and_refuses_another_consistency()
    {
        string key = Unique("consistency");
        await Put($"/kv/{key}", Utf8("v1"));
        await AssertValue($"/kv/{key}", Utf8("v1"));
        await AssertValue($"/kv/{key}?consistency=linearizable", Utf8("v1"));
        // This node applied its own write before the PUT answered, so its local state has it.
        await AssertValue($"/kv/{key}?consistency=serializable", Utf8("v1"));
        await AssertAbsent($"/kv/{Unique("never")}?consistency=serializable");
        AssertJsonError(await Send("GET", $"/kv/{key}?consistency=eventual"), 400);
    }

    [Fact]
    public async Task A_get_of_a_missing_key_is_404_with_a_json_error()
    {
        await AssertAbsent($"/kv/{Unique("missing")}");
    }

    [Fact]
    public async Task A_delete_then_a_get_is_404()
    {
        string key = Unique("deleted");
        await Put($"/kv/{key}", Utf8("soon gone"));
        var r = await Send("DELETE", $"/kv/{key}");
        Assert.Equal(204, r.Status);
        await AssertAbsent($"/kv/{key}");
    }

    [Fact]
    public async Task A_cas_swaps_when_the_expected_value_matches_and_fails_with_409_and_the_current_value_when_not()
    {
        string key = Unique("cas");
        await Put($"/kv/{key}", Utf8("one"));
        var swapped = await Send("POST", $"/cas/{key}", Utf8("""{"expected":"one","value":"two"}"""));
        Assert.Equal(200, swapped.Status);
        using (var doc = JsonDocument.Parse(swapped.Body)) Assert.True(doc.RootElement.GetProperty("swapped").GetBoolean());
        await AssertValue($"/kv/{key}", Utf8("two"));

        var failed = await Send("POST", $"/cas/{key}", Utf8("""{"expected":"one","value":"three"}"""));
        Assert.Equal(409, failed.Status);
        using (var doc = JsonDocument.Parse(failed.Body))
        {
            Assert.False(doc.RootElement.GetProperty("swapped").GetBoolean());
            Assert.Equal("two", doc.RootElement.GetProperty("current").GetString());
        }
        await AssertValue($"/kv/{key}", Utf8("two"));
    }

    [Fact]
    public async Task A_cas_expecting_null_creates_an_absent_key_and_fails_on_a_present_one()
    {
        string key = Unique("cas-null");
        var created = await Send("POST", $"/cas/{key}", Utf8("""{"expected":null,"value":"first"}"""));
        Assert.Equal(200, created.Status);
        await AssertValue($"/kv/{key}", Utf8("first"));
        var again = await Send("POST", $"/cas/{key}", Utf8("""{"expected":null,"value":"second"}"""));
        Assert.Equal(409, again.Status);
        using var doc = JsonDocument.Parse(again.Body);
        Assert.Equal("first", doc.RootElement.GetProperty("current").GetString());
        await AssertValue($"/kv/{key}", Utf8("first"));
    }

    [Fact]
    public async Task A_cas_to_a_null_value_deletes_the_key()
    {
        string key = Unique("cas-delete");
        await Put($"/kv/{key}", Utf8("v"));
        var r = await Send("POST", $"/cas/{key}", Utf8("""{"expected":"v","value":null}"""));
        Assert.Equal(200, r.Status);
        await AssertAbsent($"/kv/{key}");
    }

    [Fact]
    public async Task A_value_of_exactly_the_limit_is_accepted_and_one_byte_over_is_413_and_changes_nothing()
    {
        string key = Unique("limit");
        var exact = new byte[MaxValueBytes];
        new Random(1).NextBytes(exact);
        await Put($"/kv/{key}", exact);
        await AssertValue($"/kv/{key}", exact);

        var over = new byte[MaxValueBytes + 1];
        var r = await Send("PUT", $"/kv/{key}", over);
        AssertJsonError(r, 413);
        await AssertValue($"/kv/{key}", exact);
    }

    [Fact]
    public async Task A_chunked_body_is_stored_and_an_over_limit_chunked_body_is_413_and_changes_nothing()
    {
        string key = Unique("chunked");
        var value = new byte[100_000];
        new Random(2).NextBytes(value);
        var r = await Send("PUT", $"/kv/{key}", value, chunked: true);
        Assert.Equal(204, r.Status);
        await AssertValue($"/kv/{key}", value);

        var over = await Send("PUT", $"/kv/{key}", new byte[MaxValueBytes + 1], chunked: true);
        AssertJsonError(over, 413);
        await AssertValue($"/kv/{key}", value);
    }

    [Fact]
    public async Task A_huge_declared_content_length_is_413_without_the_body_and_changes_nothing()
    {
        string key = Unique("declared");
        await Put($"/kv/{key}", Utf8("old"));
        var wire = Encoding.ASCII.GetBytes($"PUT /kv/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\nshort");
        var r = await RawHttp.SendAsync(fixture.Node.HttpPort, wire, TimeSpan.FromSeconds(30));
        Assert.NotNull(r);
        AssertJsonError(r, 413);
        await AssertValue($"/kv/{key}", Utf8("old"));
    }

    [Fact]
    public async Task A_body_cut_short_by_the_client_changes_nothing()
    {
        string key = Unique("cut");
        await Put($"/kv/{key}", Utf8("old"));
        var wire = Encoding.ASCII.GetBytes($"PUT /kv/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort");
        var r = await RawHttp.SendAsync(fixture.Node.HttpPort, wire, TimeSpan.FromSeconds(30), halfClose: true);
        if (r is not null) Assert.True(r.Status is >= 400 and < 500, r.StatusLine);
        await AssertValue($"/kv/{key}", Utf8("old"));
    }

    [Fact]
    public async Task An_overlong_key_is_400_and_changes_nothing()
    {
        string longest = new string('k', MaxKeyBytes - 40) + Guid.NewGuid().ToString("N");
        while (Encoding.UTF8.GetByteCount(longest) < MaxKeyBytes) longest += "k";
        await Put($"/kv/{longest}", Utf8("fits"));
        await AssertValue($"/kv/{longest}", Utf8("fits"));

        string overlong = longest + "k";
        AssertJsonError(await Send("PUT", $"/kv/{overlong}", Utf8("x")), 400);
        AssertJsonError(await Send("GET", $"/kv/{overlong}"), 400);
        // a multi-byte key over the limit in bytes though not in characters
        string wide = new('ж', MaxKeyBytes / 2 + 1);
        AssertJsonError(await Send("PUT", "/kv/" + Uri.EscapeDataString(wide), Utf8("x")), 400);
        await AssertValue($"/kv/{longest}", Utf8("fits"));
    }

    [Fact]
    public async Task An_empty_key_is_400()
    {
        AssertJsonError(await Send("PUT", "/kv/", Utf8("x")), 400);
        AssertJsonError(await Send("PUT", "/kv", Utf8("x")), 400);
        AssertJsonError(await Send("POST", "/cas/", Utf8("""{"expected":null,"value":"x"}""")), 400);
    }

    [Theory]
    [InlineData("{bad")]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("""{"expected":1,"value":"x"}""")]
    [InlineData("""{"expected":null,"value":"\ud800"}""")]
    [InlineData("\u00ff\u00fe")]
    public async Task A_malformed_cas_body_is_400_json_and_changes_nothing(string body)
    {
        string key = Unique("cas-bad");
        AssertJsonError(await Send("POST", $"/cas/{key}", Encoding.Latin1.GetBytes(body)), 400);
        await AssertAbsent($"/kv/{key}");
    }

    [Theory]
    [InlineData("PATCH", "/kv/{0}")]
    [InlineData("POST", "/kv/{0}")]
    [InlineData("PUT", "/cas/{0}")]
    [InlineData("GET", "/cas/{0}")]
    [InlineData("PUT", "/nothing/{0}")]
    [InlineData("DELETE", "/status")]
    [InlineData("FROB", "/kv/{0}")]
    public async Task An_unknown_path_or_method_gives_a_json_404_or_405_and_changes_nothing(string method, string target)
    {
        string key = Unique("unknown");
        var r = await Send(method, string.Format(target, key), Utf8("x"));
        Assert.True(r.Status is 404 or 405, $"{method} {target}: {r.StatusLine}");
        AssertJsonError(r, r.Status);
        await AssertAbsent($"/kv/{key}");
    }

    [Fact]
    public async Task Status_reports_node_id_leader_ballot_applied_slot_and_members()
    {
        var r = await Send("GET", "/status");
        Assert.Equal(200, r.Status);
        using var doc = JsonDocument.Parse(r.Body);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("node_id").GetInt32());
        Assert.Equal(1, root.GetProperty("leader").GetInt32());
        Assert.Equal(JsonValueKind.String, root.GetProperty("ballot").ValueKind);
        Assert.True(root.GetProperty("applied_slot").GetInt64() >= 0);
        var members = root.GetProperty("members");
        Assert.Equal(1, members.GetArrayLength());
        Assert.Contains($":{fixture.Node.RemotePort}", members[0].GetProperty("address").GetString());
    }
}

/// <summary>What /status says about the key-value state: the digest the chaos harness compares across nodes.</summary>
public sealed class StatusDigestTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private async Task<(long Applied, long KvApplied, string Digest, long Keys)> Status()
    {
        var r = await fixture.SendAsync("GET", "/status");
        Assert.Equal(200, r.Status);
        using var doc = JsonDocument.Parse(r.Body);
        var root = doc.RootElement;
        return (root.GetProperty("applied_slot").GetInt64(), root.GetProperty("kv_applied_slot").GetInt64(),
            root.GetProperty("kv_digest").GetString()!, root.GetProperty("keys").GetInt64());
    }

    [Fact]
    public async Task Status_reports_a_kv_digest_of_the_applied_slot_that_follows_every_write()
    {
        var before = await Status();
        Assert.Matches("^[0-9a-f]{16}$", before.Digest);
        Assert.Equal(before.Applied, before.KvApplied);

        string key = $"digest-{Guid.NewGuid():N}";
        var put = await fixture.SendAsync("PUT", $"/kv/{key}", "one"u8.ToArray());
        Assert.Equal(204, put.Status);
        var written = await Status();
        Assert.Equal(written.Applied, written.KvApplied); // both describe the state the answer came from
        Assert.True(written.KvApplied > before.KvApplied, $"{before} -> {written}");
        Assert.Equal(before.Keys + 1, written.Keys);
        Assert.NotEqual(before.Digest, written.Digest);

        // Deleting the key again brings back the contents of before, at a later slot: another digest all the same.
        Assert.Equal(204, (await fixture.SendAsync("DELETE", $"/kv/{key}")).Status);
        var deleted = await Status();
        Assert.Equal(before.Keys, deleted.Keys);
        Assert.NotEqual(before.Digest, deleted.Digest);
        Assert.NotEqual(written.Digest, deleted.Digest);
    }
}

/// <summary>A node whose acceptor quorum is out of reach.</summary>
public sealed class NoQuorumTests
{
    [Fact]
    public async Task A_node_without_a_reachable_quorum_answers_a_put_with_503_json_within_the_request_timeout()
    {
        var timeout = TimeSpan.FromSeconds(2);
        using var node = TestNode.Start(acceptors: "1,2,3",
            configText: $"paxos.kv.request-timeout = {timeout.TotalMilliseconds}ms\n");
        await node.WaitForStatusAsync(TimeSpan.FromSeconds(60));
        var watch = Stopwatch.StartNew();
        var r = await SingleNodeFixture.Send(node.HttpPort, "PUT", "/kv/unreachable", "x"u8.ToArray(), timeout: timeout + TimeSpan.FromSeconds(20));
        watch.Stop();
        Assert.True(r.Status == 503, $"{r.StatusLine} {r.BodyText}");
        Assert.True(r.IsJsonError(), r.BodyText);
        Assert.True(watch.Elapsed < timeout + TimeSpan.FromSeconds(10), $"answered after {watch.Elapsed}");
        Assert.False(node.HasExited);
    }
}
