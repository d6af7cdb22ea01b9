using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Hosting;
using PaxosActors.Node.Launch;
using PaxosActors.Replication;
using Samples.Locks;

namespace LockRole.Tests;

/// <summary>Three nodes in this process that run the Paxos agents and the locks role (registered in code, as a program
/// that embeds PaxosActors would): separate ActorSystems on free loopback ports, one SQLite file each in a temp folder.</summary>
public sealed class LockCluster : IAsyncLifetime
{
    private readonly Dictionary<int, PaxosNodeHost> _hosts = new();
    private readonly IReadOnlyList<int> _ports = FreePorts.Take(3);

    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), "paxos-lock-sample-" + Guid.NewGuid().ToString("N"));

    public NodeContext this[int id] => _hosts[id].Context;

    public LockService Locks(int id) => this[id].Service<LockService>()!;

    public Task InitializeAsync()
    {
        foreach (int id in new[] { 1, 2, 3 }) Start(id);
        return Task.CompletedTask;
    }

    public void Start(int id)
    {
        string seeds = string.Join(",", _ports.Select(p => $"127.0.0.1:{p}"));
        var config = ConfigurationFactory.ParseString($$"""
            paxos {
              node-id = {{id}}
              acceptors = [1, 2, 3]
              data-dir = {{HoconString.Quote(DataDir)}}
              seeds = {{HoconString.Quote(seeds)}}
              snapshot-every = 16
              commands { request-timeout = 5s, retry-interval = 500ms }
            }
            akka {
              loglevel = WARNING
              cluster.roles = [acceptor, proposer, learner, locks]
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{_ports[id - 1]}} }
              cluster { seed-node-timeout = 1s, retry-unsuccessful-join-after = 1s }
            }
            """);
        _hosts[id] = PaxosNodeHost.Start(config, new RoleRegistry().Add(Samples.Locks.LockRole.StateMachineName, () => new Samples.Locks.LockRole()));
    }

    public async Task StopAsync(int id)
    {
        var host = _hosts[id];
        _hosts.Remove(id);
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await host.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Runs <paramref name="call"/> until the cluster answers it (a leader elected, a quorum reached).</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> call, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                return await call();
            }
            catch (CommandTimeoutException) when (DateTime.UtcNow < deadline)
            {
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds.</summary>
    public static async Task Until(Func<bool> condition, string what, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"never: {what}");
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _hosts.Values)
        {
            try
            {
                await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception)
            {
                await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
            }
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
