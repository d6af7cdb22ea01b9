using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace PaxosActors.Node.Tests;

/// <summary>Bytes that are not Akka.Remote's protocol, sent to the node's remoting port. Seeded like the HTTP fuzz: a fixed
/// seed, PAXOS_FUZZ_SEED to run another, the seed in every failure.</summary>
public sealed class RemotingGarbageTests(SingleNodeFixture fixture, ITestOutputHelper output) : IClassFixture<SingleNodeFixture>
{
    private readonly int _seed = HttpFuzzTests.Seed();

    private async Task<Socket> Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, fixture.Node.RemotePort), cts.Token);
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
        var rng = new Random(seed);

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
            await AssertServes("remoting-garbage-held");
        }
        finally
        {
            foreach (var socket in held) socket.Dispose();
        }

        await AssertServes("remoting-garbage-after");
        var status = await fixture.SendAsync("GET", "/status");
        Assert.True(status.Status == 200, $"seed {seed}: GET /status answered {status.StatusLine}");
    }
}
