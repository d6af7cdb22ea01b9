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

    // One admin command (or a new ActorSystem's re-application) at a time, so a heal cannot slip between a new
    // ActorSystem's start and its blackholes and leave a stale one behind.
    private readonly SemaphoreSlim _gate = new(1, 1);

    // The ActorSystem the node started last (NodeRunner.Current is set only after OnStarted returns).
    private volatile ActorSystem? _system;

    public FaultInjection()
    {
        // A node restarted in the middle of a partition must not get a moment of connectivity first.
        foreach (var k in (Environment.GetEnvironmentVariable("PAXOS_FAULT_BLOCKED") ?? "")
                     .Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            _blocked[k] = 0;
    }

    public static bool IsOn(Config config) => config.GetBoolean("paxos.fault-injection", false);

    /// <summary><c>paxos.fault-injection-stale-reads</c>: a deliberately broken node, for the chaos harness's control run,
    /// that answers <c>GET /kv/{key}</c> from its own state without going through the log. Honoured only with
    /// <c>paxos.fault-injection = on</c>.</summary>
    public static bool StaleReads(Config config) => config.GetBoolean("paxos.fault-injection-stale-reads", false);

    /// <summary>The configuration with the throttler adapter applied; seeds given as host:port get its scheme.</summary>
    public static Config Enable(Config config)
    {
        var seeds = SeedList.Parse(config.GetString("paxos.seeds", ""), PaxosNodeHost.SystemName, PaxosActors.Security.TlsSettings.Scheme(config, "trttl"));
        return ConfigurationFactory.ParseString($"""
                akka.remote.dot-netty.tcp.applied-adapters = [trttl]
                paxos.seeds = {HoconString.Quote(string.Join(",", seeds))}
                """)
            .WithFallback(config);
    }

    public void Map(WebApplication app)
    {
        // Answers applied: true only once the transport of the node's current ActorSystem took the command. A node whose
        // ActorSystem is restarting answers false (the block is kept and applied when it starts); the caller retries.
        app.MapPost("/admin/block", async (string? address) =>
        {
            if (!TryParse(address, out var host, out int port)) return KvApi.Error(400, "?address=host:port is required");
            await _gate.WaitAsync();
            try
            {
                _blocked[$"{host}:{port}"] = 0;
                bool ok = _system is { } system && await SetAsync(system, host, port, Blackhole.Instance);
                return Results.Json(new AdminResponse(ok, Blocked()), KvJson.Default.AdminResponse);
            }
            finally
            {
                _gate.Release();
            }
        });
        // An endpoint leaves the blocked set only once its blackhole is lifted (or there is no ActorSystem to lift it
        // in), so a heal that fails halfway is retried in full by the next one instead of answering true for nothing.
        app.MapPost("/admin/heal", async () =>
        {
            await _gate.WaitAsync();
            try
            {
                bool ok = true;
                foreach (var k in _blocked.Keys.ToList())
                {
                    if (TryParse(k, out var host, out int port) && _system is { } system && !await SetAsync(system, host, port, Unthrottled.Instance))
                        ok = false;
                    else
                        _blocked.TryRemove(k, out _);
                }
                return Results.Json(new AdminResponse(ok, Blocked()), KvJson.Default.AdminResponse);
            }
            finally
            {
                _gate.Release();
            }
        });
    }

    /// <summary>Called for every new ActorSystem of the node, before it serves: re-applies the current blackholes and waits
    /// for them (bounded), so a node restarted in a partition is cut off from its first exchange. From now on the
    /// admin endpoints act on this system.</summary>
    public void OnStarted(PaxosNodeHost host)
    {
        _gate.Wait();
        try
        {
            _system = host.System;
            var applying = _blocked.Keys
                .Select(k => TryParse(k, out var h, out int port) ? SetAsync(host.System, h, port, Blackhole.Instance) : Task.FromResult(true))
                .ToArray();
            Task.WaitAll(applying, TimeSpan.FromSeconds(10));
        }
        finally
        {
            _gate.Release();
        }
    }

    private List<string> Blocked() => _blocked.Keys.OrderBy(k => k).ToList();

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
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or AggregateException or AskTimeoutException or ObjectDisposedException)
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
