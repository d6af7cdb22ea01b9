using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using PaxosActors.Coordination;
using PaxosActors.Hosting.Tests.Support;

namespace PaxosActors.Hosting.Tests.Coordination;

/// <summary>
/// A Cluster Singleton guarded by the Paxos lease (<c>use-lease = "akka.coordination.lease.paxos"</c>) on a three-node
/// in-process cluster: it starts only on a node whose lease the log granted, and when its node crashes it moves only
/// once the lease has moved, even when the cluster has already chosen a new oldest node.
/// </summary>
public sealed class SingletonLeaseSpec : Akka.TestKit.Xunit.TestKit
{
    private const string SingletonConfig = """
        akka.cluster.singleton { use-lease = "akka.coordination.lease.paxos", lease-retry-interval = 200ms }
        """;

    /// <summary>What each singleton instance saw of its lease when it started: the lease table on its own node.</summary>
    private sealed record Started(int Node, string Lease, string Owner, long Token, TimeSpan At);

    private sealed class Guarded : ReceiveActor
    {
        public Guarded(int node, LeaseService leases, ConcurrentQueue<Started> log, Stopwatch clock)
        {
            // The manager starts us only after its Acquire returned true, which is after this node's learner applied the
            // grant: the view here is at least that fresh.
            foreach (var (name, held) in leases.View.Current.Leases)
                log.Enqueue(new Started(node, name, held.Owner, held.Token, clock.Elapsed));
            ReceiveAny(_ => { });
        }
    }

    [Fact]
    public async Task A_singleton_runs_only_where_the_lease_is_and_moves_only_when_the_lease_moves()
    {
        var clock = Stopwatch.StartNew();
        var started = new ConcurrentQueue<Started>();
        await using var cluster = new LeaseCluster(3, SingletonConfig);
        foreach (int id in cluster.Ids) cluster.Start(id);
        await cluster.AwaitReadyAsync(TimeSpan.FromSeconds(30));
        foreach (int id in cluster.Ids)
        {
            var system = cluster[id].System;
            var leases = cluster.Leases(id);
            int node = id;
            system.ActorOf(ClusterSingletonManager.Props(Props.Create(() => new Guarded(node, leases, started, clock)), PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system)), "guarded");
        }

        // The oldest node (1) runs it, holding its lease.
        await AwaitAssertAsync(() => Assert.Single(started), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        Assert.True(started.TryPeek(out var first));
        Assert.Equal(1, first.Node);
        Assert.EndsWith($":{cluster.PortOf(1)}", first.Owner);

        // Node 1 crashes. Once its lease expires, an intruder takes the lease before the cluster has even downed node 1.
        await cluster.CrashAsync(1);
        var intruder = await Eventually(async () =>
        {
            var r = await cluster.Leases(2).AcquireAsync(first.Lease, "intruder", TimeSpan.FromSeconds(4));
            return r.Ok ? r : null;
        }, TimeSpan.FromSeconds(15));
        Assert.True(intruder.Token > first.Token);
        var intruderHeldAt = clock.Elapsed;

        // Node 2 or 3 (whichever joined first) becomes the oldest, but the singleton waits for the lease: it starts after
        // the intruder's lease expired.
        await AwaitAssertAsync(() => Assert.Equal(2, started.Count), TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        var second = started.Last();
        Assert.NotEqual(1, second.Node);
        Assert.EndsWith($":{cluster.PortOf(second.Node)}", second.Owner);
        Assert.True(second.Token > intruder.Token, $"token {second.Token} after the intruder's {intruder.Token}");
        Assert.True(second.At - intruderHeldAt >= TimeSpan.FromSeconds(3),
            $"the singleton started {(second.At - intruderHeldAt).TotalMilliseconds:0} ms after the intruder took its lease, before that lease could expire");
    }

    private static async Task<T> Eventually<T>(Func<Task<T?>> attempt, TimeSpan timeout) where T : class
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await attempt() is { } value) return value;
            }
            catch (Exception e) when (e is Replication.CommandTimeoutException or ArgumentException)
            {
                // not applied yet: try again
            }
            if (watch.Elapsed > timeout) throw new TimeoutException($"nothing after {timeout.TotalSeconds} s");
            await Task.Delay(100);
        }
    }
}
