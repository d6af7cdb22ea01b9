using System.Text;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Actors;
using PaxosActors.Configuration;
using PaxosActors.Routing;
using PaxosActors.Hosting;
using PaxosActors.Kv;
using PaxosActors.Kv.Hosting;
using PaxosActors.Node.Launch;

namespace PaxosActors.Cluster.Tests.Support;

/// <summary>
/// Several <see cref="PaxosNodeHost"/>s in this process: separate ActorSystems on free loopback ports that
/// form one Akka cluster, one SQLite file each in a fresh temp folder, and timeouts short enough that a
/// test runs in seconds.
/// </summary>
public sealed class InProcessCluster : IAsyncDisposable
{
    private readonly Dictionary<int, PaxosNodeHost> _hosts = new();
    private readonly Func<int, string> _extraConfig;

    public InProcessCluster(int size = 3, string mode = "multi", Func<int, string>? extraConfig = null)
    {
        Ids = Enumerable.Range(1, size).ToList();
        Mode = mode;
        _extraConfig = extraConfig ?? (_ => "");
        var ports = FreePorts.Take(size);
        Ports = Ids.ToDictionary(id => id, id => ports[id - 1]);
        DataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDir);
    }

    public IReadOnlyList<int> Ids { get; }
    public string Mode { get; }
    public IReadOnlyDictionary<int, int> Ports { get; }
    public string DataDir { get; }

    public PaxosNodeHost this[int id] => _hosts[id];
    public IEnumerable<int> Running => _hosts.Keys.OrderBy(i => i);

    public static Config NodeConfig(int id, IReadOnlyDictionary<int, int> ports, string dataDir, string mode, string extra = "")
    {
        string seeds = string.Join(",", ports.OrderBy(p => p.Key).Select(p => $"127.0.0.1:{p.Value}"));
        return ConfigurationFactory.ParseString(extra + $$"""

            paxos {
              node-id = {{id}}
              acceptors = [{{string.Join(", ", ports.Keys.OrderBy(i => i))}}]
              mode = {{mode}}
              data-dir = {{HoconString.Quote(dataDir)}}
              seeds = {{HoconString.Quote(seeds)}}
              election-timeout = 300ms
              heartbeat-interval = 50ms
              phase-timeout = 200ms
              kv.request-timeout = 5s
              kv.retry-interval = 500ms
            }
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              # Terminating the ActorSystem is then a crash (no leaving the cluster); StopAsync still leaves.
              coordinated-shutdown.run-by-actor-system-terminate = off
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{ports[id]}} }
              cluster {
                seed-node-timeout = 1s
                retry-unsuccessful-join-after = 1s
                failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 2s }
                split-brain-resolver.stable-after = 3s
              }
            }
            """);
    }

    /// <summary>Node <paramref name="id"/>'s configuration: unless its extra configuration says otherwise, it runs the
    /// key-value store too, as the node executable does.</summary>
    public Config ConfigOf(int id) => NodeConfig(id, Ports, DataDir, Mode, _extraConfig(id))
        .WithFallback(ConfigurationFactory.ParseString("akka.cluster.roles = [acceptor, proposer, learner, kv]"));

    /// <summary>The roles these nodes can run besides the Paxos ones: the node executable's (the key-value store).</summary>
    public static RoleRegistry Roles() => PaxosActors.Node.Commands.NodeCommand.Roles();

    /// <summary>Starts (or restarts, on the same data dir and port) node <paramref name="id"/>.</summary>
    public PaxosNodeHost Start(int id, RoleRegistry? registry = null)
    {
        if (_hosts.ContainsKey(id)) throw new InvalidOperationException($"node {id} is running");
        var host = PaxosNodeHost.Start(ConfigOf(id), registry ?? Roles());
        _hosts[id] = host;
        return host;
    }

    public void StartAll()
    {
        foreach (int id in Ids) Start(id);
    }

    /// <summary>Leaves the cluster and stops node <paramref name="id"/>'s ActorSystem.</summary>
    public async Task StopAsync(int id)
    {
        var host = _hosts[id];
        _hosts.Remove(id);
        await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await host.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Terminates node <paramref name="id"/>'s ActorSystem without leaving the cluster: the others
    /// see it unreachable until the split brain resolver downs it, as after a crash.</summary>
    public async Task CrashAsync(int id)
    {
        var host = _hosts[id];
        _hosts.Remove(id);
        await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Waits until every running node sees every other one as Up (so the directory can route to it).</summary>
    public Task AwaitUpAsync(TimeSpan timeout) => Eventually.Holds(() =>
    {
        var expected = Running.Count();
        foreach (int id in Running)
        {
            var state = Akka.Cluster.Cluster.Get(_hosts[id].System).State;
            int up = state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && !state.Unreachable.Contains(m));
            Assert.True(up == expected, $"node {id} sees {up} of {expected} members up: {string.Join(", ", state.Members)}");
        }
        return Task.CompletedTask;
    }, timeout);

    /// <summary>Waits until every running node's acceptor votes. A new acceptor votes only once every other
    /// acceptor has recorded it (README, "Recovering an acceptor"), so a fault injected before that point
    /// tests a cluster that is still forming, not the three-acceptor cluster the test means.</summary>
    public Task AwaitAcceptorsVotingAsync(TimeSpan timeout) => Eventually.Holds(() =>
    {
        foreach (int id in Running)
            Assert.True(_hosts[id].Context.Health.AcceptorVotes, $"acceptor {id}: {_hosts[id].Context.Health.Acceptor}");
        return Task.CompletedTask;
    }, timeout);

    public KvService Kv(int id) => _hosts[id].Context.Service<KvService>() ?? throw new InvalidOperationException($"node {id} runs no kv role");

    public Task<ProposerStatus> ProposerStatusAsync(int id) =>
        _hosts[id].Context.Paxos.Proposer!.Ask<ProposerStatus>(GetProposerStatus.Instance, TimeSpan.FromSeconds(2));

    /// <summary>The leader every running node agrees on (multi mode).</summary>
    public Task<int> AwaitLeaderAsync(TimeSpan timeout, int? not = null) => Eventually.Returns(async () =>
    {
        var views = new List<ProposerStatus>();
        foreach (int id in Running) views.Add(await ProposerStatusAsync(id));
        var leaders = views.Select(v => v.Leader).Distinct().ToList();
        Assert.True(leaders.Count == 1 && leaders[0] is { } l && l != not && Running.Contains(l),
            $"no agreed leader yet: {string.Join("; ", views.Select(v => $"node {v.Node}: leader {v.Leader?.ToString() ?? "none"}, {v.Phase}, ballot {v.Ballot}"))}");
        return leaders[0]!.Value;
    }, timeout);

    /// <summary>Puts through node <paramref name="id"/>, retrying a request that found no quorum until <paramref name="timeout"/>.</summary>
    public async Task PutAsync(int id, string key, string value, TimeSpan timeout)
    {
        try
        {
            await Eventually.Holds(async () =>
            {
                var result = await Kv(id).PutAsync(key, Encoding.UTF8.GetBytes(value), CancellationToken.None);
                Assert.True(result.IsOk);
            }, timeout, TimeSpan.FromMilliseconds(50));
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\nput {key} through node {id}; the proposers now:\n{await DescribeAsync()}", e);
        }
    }

    /// <summary>Every running node's proposer and cluster view, for a failure message.</summary>
    public async Task<string> DescribeAsync()
    {
        var lines = new List<string>();
        foreach (int id in Running)
        {
            var state = Akka.Cluster.Cluster.Get(_hosts[id].System).State;
            string members = string.Join(", ", state.Members.Select(m => $"{ClusterDirectory.NodeIdOf(m)}:{m.Status}{(state.Unreachable.Contains(m) ? "(unreachable)" : "")}"));
            try
            {
                lines.Add($"node {id}: {await ProposerStatusAsync(id)}; members {members}");
            }
            catch (Exception e)
            {
                lines.Add($"node {id}: no proposer status ({e.GetType().Name}); members {members}");
            }
        }
        return string.Join("\n", lines);
    }

    /// <summary>The value of <paramref name="key"/> as a linearizable read through node <paramref name="id"/> sees it (null: absent).</summary>
    public async Task<string?> GetAsync(int id, string key)
    {
        var result = await Kv(id).GetAsync(key, CancellationToken.None);
        return result.Value is { } v ? Encoding.UTF8.GetString(v.Span) : null;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts.Values.ToList())
        {
            try
            {
                await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
                await host.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception)
            {
                await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
            }
        }
        _hosts.Clear();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
