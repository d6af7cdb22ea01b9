using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Coordination;
using PaxosActors.Node.Launch;

namespace PaxosActors.Hosting.Tests.Support;

/// <summary>
/// Several Paxos nodes in this process, each running the agents and the paxos-lease role: separate ActorSystems on
/// free loopback ports that form one Akka cluster, one SQLite file each in a fresh temp folder, short timeouts, and the
/// Paxos lease at <c>akka.coordination.lease.paxos</c> (time to live 1.5 s, renewed every 200 ms).
/// </summary>
public sealed class LeaseCluster(int size = 3, string extra = "", bool partitionable = false) : IAsyncDisposable
{
    private readonly Dictionary<int, PaxosNodeHost> _hosts = new();
    private readonly int[] _ports = FreePorts.Take(size);
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-lease-tests", Guid.NewGuid().ToString("N"));

    public IReadOnlyList<int> Ids { get; } = Enumerable.Range(1, size).ToList();
    public IEnumerable<int> Running => _hosts.Keys.OrderBy(i => i);
    public PaxosNodeHost this[int id] => _hosts[id];
    public int PortOf(int id) => _ports[id - 1];
    public LeaseService Leases(int id) => _hosts[id].Context.Service<LeaseService>()!;

    public Config ConfigOf(int id) => ConfigurationFactory.ParseString(extra + $$"""

        paxos {
          node-id = {{id}}
          acceptors = [{{string.Join(", ", Ids)}}]
          data-dir = {{HoconString.Quote(_dataDir)}}
          seeds = {{HoconString.Quote(string.Join(",", _ports.Select(p => $"127.0.0.1:{p}")))}}
          election-timeout = 300ms
          heartbeat-interval = 50ms
          phase-timeout = 200ms
          commands { request-timeout = 3s, retry-interval = 300ms }
        }
        akka {
          loglevel = WARNING
          coordinated-shutdown.run-by-actor-system-terminate = off
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{PortOf(id)}} }
          cluster {
            roles = [acceptor, proposer, learner, paxos-lease]
            seed-node-timeout = 1s
            retry-unsuccessful-join-after = 1s
            failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 2s }
            split-brain-resolver.stable-after = 3s
          }
          coordination.lease.paxos { heartbeat-interval = 200ms, heartbeat-timeout = 1500ms, lease-operation-timeout = 3s }
        }
        """);

    public PaxosNodeHost Start(int id)
    {
        // Partitionable: the transport wrapped in Akka's throttler adapter, as the chaos harness's nodes are.
        var config = partitionable ? PaxosActors.Node.Http.FaultInjection.Enable(ConfigOf(id)) : ConfigOf(id);
        var host = PaxosNodeHost.Start(config, new Hosting.RoleRegistry().Add(LeaseRole.RoleName, () => new LeaseRole()));
        _hosts[id] = host;
        return host;
    }

    /// <summary>Terminates node <paramref name="id"/>'s ActorSystem without leaving the cluster, as a crash.</summary>
    public async Task CrashAsync(int id)
    {
        var host = _hosts[id];
        _hosts.Remove(id);
        await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Cuts node <paramref name="id"/> off from every other running node, both ways (needs <c>partitionable</c>).</summary>
    public async Task IsolateAsync(int id)
    {
        foreach (int other in Running.Where(o => o != id))
        {
            Assert.True(await BlackholeAsync(_hosts[id].System, PortOf(other)), $"node {id} could not cut off {other}");
            Assert.True(await BlackholeAsync(_hosts[other].System, PortOf(id)), $"node {other} could not cut off {id}");
        }
    }

    private static Task<bool> BlackholeAsync(ActorSystem system, int port)
    {
        // The throttler matches associations by host and port.
        var target = new Address("akka.trttl.tcp", PaxosNodeHost.SystemName, "127.0.0.1", port);
        var provider = (Akka.Remote.IRemoteActorRefProvider)((ExtendedActorSystem)system).Provider;
        return provider.Transport.ManagementCommand(new Akka.Remote.Transport.SetThrottle(target,
            Akka.Remote.Transport.ThrottleTransportAdapter.Direction.Both, Akka.Remote.Transport.Blackhole.Instance)).WaitAsync(TimeSpan.FromSeconds(5));
    }

    /// <summary>Every running node sees the others up and its acceptor votes.</summary>
    public async Task AwaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            string? why = null;
            foreach (int id in Running)
            {
                var state = Akka.Cluster.Cluster.Get(_hosts[id].System).State;
                int up = state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && !state.Unreachable.Contains(m));
                if (up != _hosts.Count) why = $"node {id} sees {up} of {_hosts.Count} members up";
                else if (!_hosts[id].Context.Health.AcceptorVotes) why = $"acceptor {id}: {_hosts[id].Context.Health.Acceptor}";
            }
            if (why is null) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException(why);
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts.Values) await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(20)).ContinueWith(_ => { });
        _hosts.Clear();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
