using Akka.Configuration;

namespace PaxosActors.Hosting;

/// <summary>
/// Keeps one node running: starts its ActorSystem, and if the cluster downs it (the split brain resolver
/// or a partition), starts a new one that recovers from the same SQLite file and joins again, without an
/// operator. A front end (the node executable's HTTP API) always talks to <see cref="Current"/>.
/// </summary>
public sealed class NodeRunner(Config config, TextWriter log)
{
    private readonly CancellationTokenSource _stopping = new();
    private volatile PaxosNodeHost? _current;

    public PaxosNodeHost? Current => _current;

    /// <summary>Called with each new ActorSystem, the first and every restart.</summary>
    public Action<PaxosNodeHost>? Started { get; init; }

    /// <summary>Roles registered in code, started with every ActorSystem (besides those <c>paxos.roles</c> maps).</summary>
    public RoleRegistry? Roles { get; init; }

    public PaxosNodeHost Start()
    {
        var host = PaxosNodeHost.Start(config, Roles);
        Started?.Invoke(host);
        _current = host;
        return host;
    }

    /// <summary>Runs until <see cref="StopAsync"/>: restarts the node whenever its ActorSystem ends on its own.</summary>
    public async Task SuperviseAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var host = _current ?? Start();
            await Task.WhenAny(host.WhenTerminated, LeaveIslandAsync(host), Task.Delay(Timeout.Infinite, _stopping.Token));
            if (_stopping.IsCancellationRequested) break;
            log.WriteLine($"node {host.Settings.NodeId}: the ActorSystem stopped (downed by the cluster?); restarting from its journal");
            _current = null;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token);
                Start();
            }
            catch (OperationCanceledException) { break; }
            catch (Exception e)
            {
                log.WriteLine($"node restart failed: {e.Message}; retrying");
            }
        }
    }

    /// <summary>
    /// The first seed node joins itself when no other seed answers within the seed-node timeout. After a
    /// restart (its peers paused, partitioned, or still holding its old incarnation) that makes a cluster of
    /// one that never merges with the others' cluster: it cannot reach any acceptor and never serves again.
    /// A node alone in its cluster while other acceptors are configured stops its ActorSystem after
    /// <see cref="IslandTimeout"/>, so the supervisor restarts it and it joins the seeds again.
    /// </summary>
    private async Task LeaveIslandAsync(PaxosNodeHost host)
    {
        if (host.Settings.Acceptors.Length < 2) await Task.Delay(Timeout.Infinite, _stopping.Token);
        var cluster = Akka.Cluster.Cluster.Get(host.System);
        DateTime? aloneSince = null;
        while (!_stopping.IsCancellationRequested && !host.WhenTerminated.IsCompleted)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token).ContinueWith(_ => { });
            var members = cluster.State.Members;
            bool alone = members.Count == 1 && members.First().Address.Equals(cluster.SelfAddress);
            aloneSince = alone ? aloneSince ?? DateTime.UtcNow : null;
            if (aloneSince is { } since && DateTime.UtcNow - since > IslandTimeout)
            {
                log.WriteLine($"node {host.Settings.NodeId}: alone in its cluster for {IslandTimeout.TotalSeconds:0} s while other acceptors are configured; rejoining");
                await host.System.Terminate();
                return;
            }
        }
    }

    private static readonly TimeSpan IslandTimeout = TimeSpan.FromSeconds(15);

    public async Task StopAsync()
    {
        _stopping.Cancel();
        if (_current is { } host) await host.StopAsync();
    }
}
