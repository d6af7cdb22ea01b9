using System.Net;
using System.Net.Sockets;
using PaxosActors.Tools.Chaos;

namespace PaxosActors.Chaos.Tests;

/// <summary>
/// How the chaos clients record a call that the network broke. A bare <see cref="SocketException"/> out of HttpClient
/// (a peer that reset the socket while the connection was being set up) once ended a whole chaos session, unhandled.
/// </summary>
public sealed class KvClientSpecs
{
    private sealed class Throwing(Exception e) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) => Task.FromException<HttpResponseMessage>(e);
    }

    private static KvClient Client(Exception e) => new(new HttpClient(new Throwing(e)));

    private static readonly SocketException NotConnected = new((int)SocketError.NotConnected);

    [Fact]
    public async Task A_read_the_network_broke_is_a_failure_that_changed_nothing()
    {
        var outcome = await Client(NotConnected).ReadAsync("http://127.0.0.1:1", "k", CancellationToken.None);
        Assert.Equal("fail", outcome.Type);
    }

    [Fact]
    public async Task A_write_or_cas_the_network_broke_after_connecting_may_have_happened()
    {
        Assert.Equal("info", (await Client(NotConnected).WriteAsync("http://127.0.0.1:1", "k", "v", CancellationToken.None)).Type);
        Assert.Equal("info", (await Client(NotConnected).CasAsync("http://127.0.0.1:1", "k", null, "v", CancellationToken.None)).Type);
    }

    [Fact]
    public async Task A_write_refused_at_connect_certainly_did_not_happen()
    {
        var refused = new HttpRequestException("refused", new SocketException((int)SocketError.ConnectionRefused));
        Assert.Equal("fail", (await Client(refused).WriteAsync("http://127.0.0.1:1", "k", "v", CancellationToken.None)).Type);
    }

    [Fact]
    public async Task Status_of_a_node_the_network_broke_is_unknown_not_a_crash() =>
        Assert.Null(await Client(NotConnected).StatusAsync("http://127.0.0.1:1", TimeSpan.FromSeconds(1), CancellationToken.None));

    [Fact]
    public async Task A_programming_error_is_not_taken_for_the_network() =>
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            Client(new InvalidOperationException("bug")).ReadAsync("http://127.0.0.1:1", "k", CancellationToken.None));
}
