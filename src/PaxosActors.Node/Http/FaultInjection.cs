using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using Akka.Remote;
using Akka.Remote.Transport;
using PaxosActors.Configuration;
using PaxosActors.Hosting;

namespace PaxosActors.Node.Http;

/// <summary>
/// Network partitions on demand, for the chaos harness only. With <c>paxos.fault-injection = on</c> the
/// remoting transport is wrapped in Akka's throttler adapter (<c>trttl</c>), and <c>POST /admin/block</c>
/// blackholes all traffic to and from one remote endpoint; <c>POST /admin/heal</c> lets it flow again.
/// Off (the default), nothing changes and the admin endpoints do not exist.
/// </summary>
public sealed class FaultInjection
{
    /// <summary>Remote endpoints ("host:port") currently blackholed. Kept across ActorSystem restarts: a node
    /// downed during a partition comes back with a fresh transport, which must be cut off again.</summary>
    private readonly ConcurrentDictionary<string, byte> _blocked = new();

    public FaultInjection()
    {
        // A node restarted in the middle of a partition must not get a moment of connectivity first.
        foreach (var k in (Environment.GetEnvironmentVariable("PAXOS_FAULT_BLOCKED") ?? "")
                     .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            _blocked[k] = 0;
    }

    public static bool IsOn(Config config) => config.GetBoolean("paxos.fault-injection", false);

    /// <summary>The configuration with the throttler adapter applied; seeds given as host:port get its scheme.</summary>
    public static Config Enable(Config config)
    {
        var seeds = SeedList.Parse(config.GetString("paxos.seeds", ""), PaxosNodeHost.SystemName, "akka.trttl.tcp");
        return ConfigurationFactory.ParseString($"""
                akka.remote.dot-netty.tcp.applied-adapters = [trttl]
                paxos.seeds = {HoconString.Quote(string.Join(",", seeds))}
                """)
            .WithFallback(config);
    }

    public void Map(WebApplication app, NodeRunner runner)
    {
        app.MapPost("/admin/block", async (string? address) =>
        {
            if (!TryParse(address, out var host, out int port)) return KvApi.Error(400, "?address=host:port is required");
            _blocked[$"{host}:{port}"] = 0;
            bool ok = runner.Current is { } h && await SetAsync(h.System, host, port, Blackhole.Instance);
            return Results.Json(new AdminResponse(ok, _blocked.Keys.OrderBy(k => k).ToList()), KvJson.Default.AdminResponse);
        });
        app.MapPost("/admin/heal", async () =>
        {
            var was = _blocked.Keys.ToList();
            _blocked.Clear();
            bool ok = true;
            if (runner.Current is { } h)
                foreach (var k in was)
                    if (TryParse(k, out var host, out int port))
                        ok &= await SetAsync(h.System, host, port, Unthrottled.Instance);
            return Results.Json(new AdminResponse(ok, []), KvJson.Default.AdminResponse);
        });
    }

    /// <summary>Called for every new ActorSystem of the node: re-applies the current blackholes.</summary>
    public void OnStarted(PaxosNodeHost host)
    {
        foreach (var k in _blocked.Keys)
            if (TryParse(k, out var h, out int port))
                _ = SetAsync(host.System, h, port, Blackhole.Instance);
    }

    private static async Task<bool> SetAsync(ActorSystem system, string host, int port, ThrottleMode mode)
    {
        // The throttler matches associations by host and port only (it strips protocol and system name).
        var target = new Akka.Actor.Address("akka.trttl.tcp", PaxosNodeHost.SystemName, host, port);
        try
        {
            var provider = (IRemoteActorRefProvider)((ExtendedActorSystem)system).Provider;
            return await provider.Transport
                .ManagementCommand(new SetThrottle(target, ThrottleTransportAdapter.Direction.Both, mode))
                .WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or AggregateException)
        {
            return false;
        }
    }

    private static bool TryParse(string? address, out string host, out int port)
    {
        host = "";
        port = 0;
        if (address is null) return false;
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out port)) return false;
        host = address[..colon];
        return true;
    }
}

/// <summary>Answer of the fault-injection admin endpoints: whether the transport took the command, and what is blocked now.</summary>
public sealed record AdminResponse(bool Applied, IReadOnlyList<string> Blocked);
