using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PaxosActors.Node.Tests;

/// <summary>
/// The HTTP API of a node with <c>paxos.tls</c> and <c>paxos.http.auth</c> on: HTTPS only, a bearer token whose scope covers
/// the request (401 without one, 403 with too small a scope, nothing changed either way), <c>/admin/*</c> for the admin
/// scope, <c>/health/*</c> open, the certificate's expiry in <c>/status</c> and the log, and the limits against slow and
/// greedy clients.
/// </summary>
public sealed class SecureApiTests(SecureNodeFixture fixture) : IClassFixture<SecureNodeFixture>
{
    private HttpClient Client(string? token)
    {
        var http = fixture.Node.Http;
        var client = new PaxosActors.Node.Launch.NodeLaunch
        {
            NodeId = 1, HttpPort = fixture.Node.HttpPort, RemotePort = fixture.Node.RemotePort, CaFile = fixture.CaFile, Token = token,
        }.NewHttpClient(TimeSpan.FromSeconds(30));
        client.BaseAddress = http.BaseAddress;
        return client;
    }

    private static async Task<(HttpStatusCode Status, string Body)> Send(HttpClient client, HttpMethod method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(body);
        using var response = await client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static void AssertJsonError((HttpStatusCode Status, string Body) answer, HttpStatusCode expected)
    {
        Assert.True(answer.Status == expected, $"expected {(int)expected}, got {(int)answer.Status} {answer.Body}");
        using var doc = JsonDocument.Parse(answer.Body);
        Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("error").ValueKind);
    }

    [Fact]
    public async Task Without_a_known_token_a_write_is_401_with_a_JSON_error_and_changes_nothing()
    {
        using var admin = Client(fixture.AdminToken);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(admin, HttpMethod.Put, "kv/guarded", "before")).Status);

        using var anonymous = Client(null);
        AssertJsonError(await Send(anonymous, HttpMethod.Put, "kv/guarded", "after"), HttpStatusCode.Unauthorized);
        AssertJsonError(await Send(anonymous, HttpMethod.Delete, "kv/guarded"), HttpStatusCode.Unauthorized);
        AssertJsonError(await Send(anonymous, HttpMethod.Get, "kv/guarded"), HttpStatusCode.Unauthorized);
        using var forged = Client(fixture.AdminToken[..^1] + (fixture.AdminToken[^1] == 'A' ? "B" : "A"));
        AssertJsonError(await Send(forged, HttpMethod.Put, "kv/guarded", "after"), HttpStatusCode.Unauthorized);

        Assert.Equal((HttpStatusCode.OK, "before"), await Send(admin, HttpMethod.Get, "kv/guarded"));
    }

    [Fact]
    public async Task A_read_only_token_reads_but_cannot_write()
    {
        using var writer = Client(fixture.WriteToken);
        Assert.Equal(HttpStatusCode.NoContent, (await Send(writer, HttpMethod.Put, "kv/ro", "written")).Status);

        using var reader = Client(fixture.ReadToken);
        Assert.Equal((HttpStatusCode.OK, "written"), await Send(reader, HttpMethod.Get, "kv/ro"));
        Assert.Equal(HttpStatusCode.OK, (await Send(reader, HttpMethod.Get, "status")).Status);
        AssertJsonError(await Send(reader, HttpMethod.Put, "kv/ro", "overwritten"), HttpStatusCode.Forbidden);
        AssertJsonError(await Send(reader, HttpMethod.Post, "cas/ro", """{"expected":"written","value":"swapped"}"""), HttpStatusCode.Forbidden);
        AssertJsonError(await Send(reader, HttpMethod.Delete, "kv/ro"), HttpStatusCode.Forbidden);
        Assert.Equal((HttpStatusCode.OK, "written"), await Send(reader, HttpMethod.Get, "kv/ro"));
    }

    [Fact]
    public async Task Admin_endpoints_answer_the_admin_scope_only()
    {
        using var writer = Client(fixture.WriteToken);
        AssertJsonError(await Send(writer, HttpMethod.Get, "admin/members"), HttpStatusCode.Forbidden);
        AssertJsonError(await Send(writer, HttpMethod.Post, "admin/members/7"), HttpStatusCode.Forbidden);
        using var reader = Client(fixture.ReadToken);
        AssertJsonError(await Send(reader, HttpMethod.Get, "admin/members"), HttpStatusCode.Forbidden);

        using var admin = Client(fixture.AdminToken);
        var members = await Send(admin, HttpMethod.Get, "admin/members");
        Assert.True(members.Status == HttpStatusCode.OK, members.Body);
        // The refused POST added no one.
        using var doc = JsonDocument.Parse(members.Body);
        Assert.Equal("[1]", doc.RootElement.GetProperty("in_force").GetProperty("acceptors").GetRawText());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("pending").ValueKind);
        // Fault injection is off on this node: its endpoints do not exist, whatever the scope.
        Assert.Equal(HttpStatusCode.NotFound, (await Send(admin, HttpMethod.Post, "admin/heal")).Status);
    }

    [Fact]
    public async Task Plain_HTTP_to_the_HTTPS_port_gets_no_HTTP_answer()
    {
        var answer = await RawHttp.SendAsync(fixture.Node.HttpPort,
            Encoding.ASCII.GetBytes($"PUT /kv/plain HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {fixture.AdminToken}\r\nContent-Length: 1\r\n\r\nx"),
            TimeSpan.FromSeconds(10));
        Assert.Null(answer);
        using var admin = Client(fixture.AdminToken);
        Assert.Equal(HttpStatusCode.NotFound, (await Send(admin, HttpMethod.Get, "kv/plain")).Status);
    }

    [Fact]
    public async Task Health_is_open_and_status_reports_the_certificate_expiry_days_ahead()
    {
        using var anonymous = Client(null);
        Assert.Equal(HttpStatusCode.OK, (await Send(anonymous, HttpMethod.Get, "health/live")).Status);

        using var reader = Client(fixture.ReadToken);
        var status = await Send(reader, HttpMethod.Get, "status");
        using var doc = JsonDocument.Parse(status.Body);
        var cert = doc.RootElement.GetProperty("tls").EnumerateArray().Single(e => e.GetProperty("key").GetString() == "certificate");
        // Issued for 20 days, warned about from 25 days ahead; the CA's 30 days are outside the warning period.
        Assert.InRange(cert.GetProperty("days_left").GetInt32(), 19, 20);
        Assert.Contains("expires in", cert.GetProperty("warning").GetString());
        var ca = doc.RootElement.GetProperty("tls").EnumerateArray().Single(e => e.GetProperty("key").GetString() == "ca-certificate");
        Assert.Equal(JsonValueKind.Null, ca.GetProperty("warning").ValueKind);
        Assert.Contains(fixture.Node.OutputLines, l => l.Contains("[WARNING]") && l.Contains("the TLS certificate") && l.Contains("expires in 19 days"));
    }

    [Fact]
    public async Task A_client_over_its_bound_of_requests_in_progress_gets_429_and_the_others_are_served()
    {
        // Requests whose body never comes stay in progress (until the body-rate limit ends them).
        var held = new List<Stream>();
        try
        {
            for (int i = 0; i < SecureNodeFixture.MaxRequestsPerClient; i++)
            {
                var tls = await fixture.ConnectTls();
                held.Add(tls);
                await SecureNodeFixture.Write(tls,
                    $"PUT /kv/slow{i} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {fixture.AdminToken}\r\nContent-Length: 100\r\n\r\nab");
            }
            using var admin = Client(fixture.AdminToken);
            await Eventually(async () => (await Send(admin, HttpMethod.Get, "status")).Status == HttpStatusCode.TooManyRequests);
            var refused = await Send(admin, HttpMethod.Get, "status");
            AssertJsonError(refused, HttpStatusCode.TooManyRequests);
        }
        finally
        {
            foreach (var s in held) await s.DisposeAsync();
        }
        using var again = Client(fixture.AdminToken);
        await Eventually(async () => (await Send(again, HttpMethod.Get, "status")).Status == HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_client_that_sends_its_headers_too_slowly_is_disconnected()
    {
        await using var tls = await fixture.ConnectTls();
        await SecureNodeFixture.Write(tls, "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        // request-headers-timeout is 2 s here: the server answers 408 or closes; it does not wait for the rest.
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[4096];
        var read = new StringBuilder();
        try
        {
            int n;
            while ((n = await tls.ReadAsync(buffer, cts.Token)) > 0) read.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
        catch (IOException)
        {
        }
        Assert.False(cts.IsCancellationRequested, "the slow client was still connected after 15 s");
        Assert.DoesNotContain("200 OK", read.ToString());
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds, failing after 10 s.</summary>
    internal static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(100);
        }
    }
}
