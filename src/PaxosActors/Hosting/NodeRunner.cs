using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;

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

    public PaxosNodeHost Start() => Start(config);

    private PaxosNodeHost Start(Config with)
    {
        var host = PaxosNodeHost.Start(with, Roles);
        Started?.Invoke(host);
        _current = host;
        return host;
    }

    /// <summary>The configuration of a start after a downing or a split: the seeds in <see cref="SplitCluster.RejoinOrder"/>
    /// (this node joins, it does not found), or the node's own when it is not the first seed or that is the order it
    /// already had.</summary>
    private Config RejoinConfig(PaxosNodeHost previous)
    {
        var cluster = Akka.Cluster.Cluster.Get(previous.System);
        var seeds = cluster.Settings.SeedNodes.ToList();
        var order = SplitCluster.RejoinOrder(seeds, cluster.SelfAddress);
        if (order.SequenceEqual(seeds)) return config;
        return ConfigurationFactory.ParseString($"paxos.seeds = {HoconString.Quote(string.Join(",", order))}").WithFallback(config);
    }

    /// <summary>Runs until <see cref="StopAsync"/>: restarts the node whenever its ActorSystem ends on its own.</summary>
    public async Task SuperviseAsync()
    {
        bool rejoining = false;
        while (!_stopping.IsCancellationRequested)
        {
            var host = _current ?? Start();
            var ended = await Task.WhenAny(host.WhenTerminated, LeaveSplitAsync(host), RejoinBoundAsync(host, rejoining),
                Task.Delay(Timeout.Infinite, _stopping.Token));
            if (_stopping.IsCancellationRequested) break;
            // Back in as a joining node unless that is what just failed: then the configured order, in which the first
            // seed may found the cluster again (every other node may have restarted meanwhile).
            bool gaveUp = rejoining && !host.WhenTerminated.IsCompleted && ended is Task<bool> { Result: true };
            if (gaveUp) await host.System.Terminate();
            log.WriteLine(gaveUp
                ? $"node {host.Settings.NodeId}: not back in the cluster within {RejoinLimit.TotalSeconds:0} s as a joining node; restarting with the configured seed order"
                : $"node {host.Settings.NodeId}: the ActorSystem stopped (downed by the cluster?); restarting from its journal");
            var next = gaveUp ? config : RejoinConfig(host);
            rejoining = !gaveUp && !ReferenceEquals(next, config);
            _current = null;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token);
                Start(next);
            }
            catch (OperationCanceledException) { break; }
            catch (Exception e)
            {
                log.WriteLine($"node restart failed: {e.Message}; retrying");
            }
        }
    }

    /// <summary>
    /// Ends a split into clusters that never merge (<see cref="SplitCluster"/>): every second this node asks the seeds
    /// outside its cluster whether they run; when <see cref="SplitCluster.Decide"/> says leave for <see cref="SplitHold"/>
    /// on end (plus up to a second of jitter, so two minorities seldom leave in step), it stops its ActorSystem and the
    /// supervisor starts a new one that joins the seeds again, recovering from the same journal.
    /// </summary>
    private async Task LeaveSplitAsync(PaxosNodeHost host)
    {
        var cluster = Akka.Cluster.Cluster.Get(host.System);
        var seeds = cluster.Settings.SeedNodes.ToList();
        var hold = SplitHold + TimeSpan.FromMilliseconds(Random.Shared.Next(1000));
        DateTime? since = null;
        while (!_stopping.IsCancellationRequested && !host.WhenTerminated.IsCompleted)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token).ContinueWith(_ => { });
            if (_stopping.IsCancellationRequested || host.WhenTerminated.IsCompleted) return;
            // Only a node that is up in a cluster can be on the wrong side of a split; one still joining waits for Akka's own retries.
            var state = cluster.State;
            if (!state.Members.Any(m => m.UniqueAddress.Equals(cluster.SelfUniqueAddress) && m.Status == Akka.Cluster.MemberStatus.Up))
            {
                since = null;
                continue;
            }
            var members = state.Members
                .Where(m => m.Status != Akka.Cluster.MemberStatus.Down && m.Status != Akka.Cluster.MemberStatus.Removed)
                .Select(m => m.Address).ToList();
            string? why = null;
            if (SplitCluster.Decide(seeds, members, seeds) is not null) // worth asking only if the rule could say leave
                why = SplitCluster.Decide(seeds, members, await AnsweringAsync(host.System, SplitCluster.Outside(seeds, members)));
            since = why is null ? null : since ?? DateTime.UtcNow;
            if (since is { } from && DateTime.UtcNow - from >= hold)
            {
                log.WriteLine($"node {host.Settings.NodeId}: {why}, for {hold.TotalSeconds:0.#} s; leaving it to join the seeds again");
                await host.System.Terminate();
                return;
            }
        }
    }

    /// <summary>How long an ActorSystem started in <see cref="SplitCluster.RejoinOrder"/> may take to be a member again
    /// before the next start uses the configured order.</summary>
    private static readonly TimeSpan RejoinLimit = TimeSpan.FromSeconds(20);

    /// <summary>For a start in <see cref="SplitCluster.RejoinOrder"/>: true once <see cref="RejoinLimit"/> passed with this
    /// node not up (or weakly up) in a cluster; never completes for another start or once it is up.</summary>
    private async Task<bool> RejoinBoundAsync(PaxosNodeHost host, bool rejoining)
    {
        if (!rejoining) return await new TaskCompletionSource<bool>().Task;
        var cluster = Akka.Cluster.Cluster.Get(host.System);
        var deadline = DateTime.UtcNow + RejoinLimit;
        while (!_stopping.IsCancellationRequested && !host.WhenTerminated.IsCompleted)
        {
            if (cluster.SelfMember.Status is Akka.Cluster.MemberStatus.Up or Akka.Cluster.MemberStatus.WeaklyUp)
                return await new TaskCompletionSource<bool>().Task;
            if (DateTime.UtcNow >= deadline) return true;
            await Task.Delay(TimeSpan.FromMilliseconds(250), _stopping.Token).ContinueWith(_ => { });
        }
        return false;
    }

    /// <summary>The seeds among <paramref name="seeds"/> whose Paxos directory answers an Identify within a second.</summary>
    private static async Task<IReadOnlyCollection<Address>> AnsweringAsync(ActorSystem system, IEnumerable<Address> seeds)
    {
        var asks = seeds.Select(async seed =>
        {
            try
            {
                var path = new RootActorPath(seed) / "user" / "paxos-directory";
                var identity = await system.ActorSelection(path).Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(1));
                return identity.Subject is null ? null : seed;
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException or OperationCanceledException)
            {
                return null;
            }
        });
        return (await Task.WhenAll(asks)).OfType<Address>().ToList();
    }

    /// <summary>How long the split must last before this node leaves its cluster: longer than a join takes, so that a seed
    /// on its way into this cluster is not mistaken for another cluster.</summary>
    private static readonly TimeSpan SplitHold = TimeSpan.FromSeconds(5);

    public async Task StopAsync()
    {
        _stopping.Cancel();
        if (_current is { } host) await host.StopAsync();
    }
}
