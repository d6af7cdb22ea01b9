using System.Text;

namespace PaxosActors.Node.Tests;

/// <summary>One node that is a whole cluster (acceptors = [1]), shared by the tests of a class.</summary>
public sealed class SingleNodeFixture : IAsyncLifetime
{
    public TestNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await TestNode.StartWritableAsync(TestNode.Start());

    public Task DisposeAsync()
    {
        Node?.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Sends one request with exactly this target (no client-side normalisation) and parses the answer.</summary>
    public Task<RawResponse> SendAsync(string method, string target, byte[]? body = null, bool chunked = false,
        IEnumerable<string>? headers = null, TimeSpan? timeout = null) =>
        Send(Node.HttpPort, method, target, body, chunked, headers, timeout);

    /// <summary>The same to <paramref name="to"/> (a port converts to a plain one; a TLS one trusts its CA only).</summary>
    public static async Task<RawResponse> Send(RawHttpTarget to, string method, string target, byte[]? body = null, bool chunked = false,
        IEnumerable<string>? headers = null, TimeSpan? timeout = null)
    {
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{to.Port}\r\nConnection: close\r\n");
        foreach (var h in headers ?? []) head.Append(h).Append("\r\n");
        var wire = new MemoryStream();
        if (body is null)
        {
            if (method is "PUT" or "POST") head.Append("Content-Length: 0\r\n");
            wire.Write(Encoding.UTF8.GetBytes(head.Append("\r\n").ToString()));
        }
        else if (chunked)
        {
            head.Append("Transfer-Encoding: chunked\r\n\r\n");
            wire.Write(Encoding.UTF8.GetBytes(head.ToString()));
            WriteChunked(wire, body, 7919);
        }
        else
        {
            head.Append($"Content-Length: {body.Length}\r\n\r\n");
            wire.Write(Encoding.UTF8.GetBytes(head.ToString()));
            wire.Write(body);
        }
        return await RawHttp.SendAsync(to, wire.ToArray(), timeout ?? TimeSpan.FromSeconds(30), head: method == "HEAD")
               ?? throw new InvalidHttpResponseException($"{method} {target}: the server closed the connection without answering");
    }

    public static void WriteChunked(Stream wire, byte[] body, int chunkSize)
    {
        for (int i = 0; i < body.Length; i += chunkSize)
        {
            int n = Math.Min(chunkSize, body.Length - i);
            wire.Write(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
            wire.Write(body, i, n);
            wire.Write("\r\n"u8);
        }
        wire.Write("0\r\n\r\n"u8);
    }
}
