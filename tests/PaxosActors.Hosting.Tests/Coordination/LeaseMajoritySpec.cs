using PaxosActors.Hosting.Tests.Support;

namespace PaxosActors.Hosting.Tests.Coordination;

/// <summary>
/// The split brain resolver's <c>lease-majority</c> strategy with the Paxos lease: after a partition, the side that can
/// reach a majority of acceptors gets the lease and downs the other; the side cut off cannot get it (the log has no
/// quorum there) and downs itself.
/// </summary>
public sealed class LeaseMajoritySpec : Akka.TestKit.Xunit.TestKit
{
    private const string Strategy = """
        akka.cluster.split-brain-resolver {
          active-strategy = lease-majority
          lease-majority { lease-implementation = "akka.coordination.lease.paxos", acquire-lease-delay-for-minority = 1s }
        }
        """;

    [Fact]
    public async Task With_lease_majority_the_side_cut_off_from_the_acceptor_majority_downs_itself_and_the_rest_keeps_the_lease()
    {
        await using var cluster = new LeaseCluster(3, Strategy, partitionable: true);
        foreach (int id in cluster.Ids) cluster.Start(id);
        await cluster.AwaitReadyAsync(TimeSpan.FromSeconds(30));
        var isolated = cluster[3].System;

        await cluster.IsolateAsync(3);

        // Node 3 cannot get the lease through a log that has no quorum on its side: it downs itself and stops.
        await isolated.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(40));
        // Nodes 1 and 2 got it, downed node 3, and run on as a cluster of two.
        await AwaitAssertAsync(() =>
        {
            foreach (int id in new[] { 1, 2 })
            {
                var state = Akka.Cluster.Cluster.Get(cluster[id].System).State;
                Assert.Equal(2, state.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up));
                Assert.Empty(state.Unreachable);
            }
        }, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
        var sbr = Assert.Single(cluster.Leases(1).View.Current.Leases, l => l.Key.EndsWith("-akka-sbr", StringComparison.Ordinal));
        Assert.DoesNotContain($":{cluster.PortOf(3)}", sbr.Value.Owner);
        Assert.False(cluster[1].System.WhenTerminated.IsCompleted || cluster[2].System.WhenTerminated.IsCompleted);
    }
}
