using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace PaxosActors.Node.Tests;

/// <summary>Bytes that are not Akka.Remote's protocol, sent to the node's remoting port. Seeded like the HTTP fuzz: a fixed
/// seed, PAXOS_FUZZ_SEED to run another, the seed in every failure.</summary>
public sealed class RemotingGarbageTests(SingleNodeFixture fixture, ITestOutputHelper output) : IClassFixture<SingleNodeFixture>
{
    private readonly int _seed = HttpFuzz.Seed();

    private static async Task<Socket> Connect(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        return socket;
    }

    private static async Task SendIgnoringResets(Socket socket, byte[] data)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.SendAsync(data, SocketFlags.None, cts.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // the node may drop us early: that is a fine answer to garbage
        }
    }

    private async Task AssertServes(string key)
    {
        Assert.False(fixture.Node.HasExited, $"seed {_seed}: the node exited:\n{fixture.Node.Output}");
        var value = Encoding.UTF8.GetBytes("still here " + key);
        var put = await fixture.SendAsync("PUT", $"/kv/{key}", value);
        Assert.True(put.Status == 204, $"seed {_seed}: PUT: {put.StatusLine} {put.BodyText}\n{fixture.Node.Output}");
        var get = await fixture.SendAsync("GET", $"/kv/{key}");
        Assert.True(get.Status == 200 && get.Body.AsSpan().SequenceEqual(value), $"seed {_seed}: GET: {get.StatusLine} {get.BodyText}");
    }

    [Fact]
    public async Task Random_bytes_huge_length_prefixes_and_half_open_connections_on_the_remoting_port_leave_the_node_serving()
    {
        int seed = _seed;
        output.WriteLine($"remoting garbage seed {seed}; replay with PAXOS_FUZZ_SEED={seed}");
        Console.WriteLine($"remoting garbage seed {seed}");
        await SendGarbage(fixture.Node.RemotePort, new Random(seed), AssertServes);
        var status = await fixture.SendAsync("GET", "/status");
        Assert.True(status.Status == 200, $"seed {seed}: GET /status answered {status.StatusLine}");
    }

    /// <summary>The garbage, sent to remoting port <paramref name="port"/>; <paramref name="assertServes"/> checks the node still
    /// takes a write and a read with a key of its own (while half-open connections are held, and after).</summary>
    internal static async Task SendGarbage(int port, Random rng, Func<string, Task> assertServes)
    {
        Task<Socket> Connect() => RemotingGarbageTests.Connect(port);

        // random bytes, each on its own connection
        for (int i = 0; i < 30; i++)
        {
            using var socket = await Connect();
            var junk = new byte[rng.Next(1, 70_000)];
            rng.NextBytes(junk);
            await SendIgnoringResets(socket, junk);
            if (rng.Next(2) == 0) socket.Shutdown(SocketShutdown.Send);
        }

        // length prefixes (DotNetty's 4-byte frame length) far over maximum-frame-size, and negative ones
        foreach (int length in new[] { int.MaxValue, int.MinValue, -1, 64 * 1024 * 1024 + 1, 1 << 30, 0 })
        {
            using var socket = await Connect();
            var frame = new byte[4 + 64];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, length);
            rng.NextBytes(frame.AsSpan(4));
            await SendIgnoringResets(socket, frame);
        }

        // a plausible length with a protobuf-looking but wrong payload
        for (int i = 0; i < 10; i++)
        {
            using var socket = await Connect();
            var payload = new byte[rng.Next(1, 2000)];
            rng.NextBytes(payload);
            payload[0] = 0x0A; // field 1, length-delimited
            var frame = new byte[4 + payload.Length];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
            payload.CopyTo(frame, 4);
            await SendIgnoringResets(socket, frame);
        }

        // half-open connections: connected and silent, or a partial frame, held while the node serves requests
        var held = new List<Socket>();
        try
        {
            for (int i = 0; i < 20; i++)
            {
                var socket = await Connect();
                held.Add(socket);
                if (i % 2 == 0) await SendIgnoringResets(socket, [0, 0, 0x10, 0, 1, 2, 3]);
                if (i % 4 == 0) socket.Shutdown(SocketShutdown.Send);
            }
            await assertServes("remoting-garbage-held");
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }

        await assertServes("remoting-garbage-after");
    }
}

/// <summary>The same garbage against a node whose remoting runs over mutual TLS (and whose API wants HTTPS and a token).</summary>
public sealed class SecureRemotingGarbageTests(SecureNodeFixture fixture, ITestOutputHelper output) : IClassFixture<SecureNodeFixture>
{
    [Fact]
    public async Task Garbage_on_a_TLS_remoting_port_leaves_the_node_serving()
    {
        int seed = HttpFuzz.Seed();
        output.WriteLine($"remoting garbage seed {seed}; replay with PAXOS_FUZZ_SEED={seed}");
        await RemotingGarbageTests.SendGarbage(fixture.Node.RemotePort, new Random(seed), async key =>
        {
            Assert.False(fixture.Node.HasExited, $"seed {seed}: the node exited:\n{fixture.Node.Output}");
            var put = await fixture.Node.Http.PutAsync($"kv/{key}", new StringContent("still here " + key));
            Assert.True(put.StatusCode == System.Net.HttpStatusCode.NoContent, $"seed {seed}: PUT: {put.StatusCode}");
            Assert.Equal("still here " + key, await fixture.Node.Http.GetStringAsync($"kv/{key}"));
        });
        // The node logs each refusal as it happens, after the connection is gone.
        await SecureApiTests.Eventually(() => Task.FromResult(fixture.Node.OutputLines.Any(l => l.Contains("TLS handshake failure"))));
    }
}
