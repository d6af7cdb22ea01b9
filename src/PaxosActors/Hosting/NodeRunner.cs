using Akka.Actor;
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
            await Task.WhenAny(host.WhenTerminated, LeaveSplitAsync(host), Task.Delay(Timeout.Infinite, _stopping.Token));
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
