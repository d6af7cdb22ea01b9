using Akka.Actor;
using Akka.Coordination;
using PaxosActors.Coordination;
using PaxosActors.Hosting.Tests.Support;

namespace PaxosActors.Hosting.Tests.Coordination;

/// <summary>
/// The Akka.Coordination lease contract of <see cref="PaxosLease"/>, on a one-node cluster hosted with WithPaxos (time
/// to live 1.5 s, renewed every 200 ms). Leases come from Akka's <see cref="LeaseProvider"/> by the config path users
/// name in <c>use-lease</c>, as Cluster Singleton gets them.
/// </summary>
public sealed class PaxosLeaseSpec : HostedNodeSpec
{
    private const string Path = "akka.coordination.lease.paxos";
    private static readonly TimeSpan Ttl = TimeSpan.FromMilliseconds(1500);

    private PaxosLease Lease(string name, string owner) => (PaxosLease)LeaseProvider.Get(Sys).GetLease(name, Path, owner);

    [Fact]
    public async Task Acquire_grants_a_free_lease_with_a_fencing_token_and_is_reentrant_for_its_owner()
    {
        await NodeAsync();
        var a = Lease("orders", "a");
        Assert.False(a.CheckLease());
        Assert.Null(a.FencingToken);

        Assert.True(await a.Acquire());
        Assert.True(a.CheckLease());
        long token = Assert.IsType<long>(a.FencingToken);
        Assert.NotNull(a.GrantedInSlot);

        Assert.True(await a.Acquire()); // reentrant: the same acquisition, the same token
        Assert.Equal(token, a.FencingToken);
    }

    [Fact]
    public async Task A_held_lease_is_refused_to_another_owner_and_granted_with_a_larger_token_once_released()
    {
        await NodeAsync();
        var a = Lease("orders", "a");
        var b = Lease("orders", "b");
        Assert.True(await a.Acquire());
        long first = a.FencingToken!.Value;

        Assert.False(await b.Acquire());
        Assert.False(b.CheckLease());

        Assert.True(await a.Release());
        Assert.False(a.CheckLease());
        Assert.False(await a.Release()); // not held any more

        Assert.True(await b.Acquire());
        Assert.True(b.FencingToken > first, $"token {b.FencingToken} after {first}");
    }

    [Fact]
    public async Task Renewals_keep_a_lease_past_its_time_to_live()
    {
        await NodeAsync();
        var lost = CreateTestProbe();
        var a = Lease("jobs", "a");
        Assert.True(await a.Acquire(e => lost.Tell(e)));
        long token = a.FencingToken!.Value;

        await lost.ExpectNoMsgAsync(Ttl * 3); // three times its time to live: renewed all along
        Assert.True(a.CheckLease());
        Assert.Equal(token, a.FencingToken);
        Assert.False(await Lease("jobs", "b").Acquire());
    }

    [Fact]
    public async Task A_lease_its_holder_stops_renewing_expires_through_the_log_and_goes_to_the_next_owner_with_a_larger_token()
    {
        var leases = await LeasesAsync();
        // A holder that acquires and then never renews (paused, crashed): only the log can take its lease away.
        var ghost = await leases.AcquireAsync("jobs", "ghost", Ttl);
        Assert.True(ghost.Ok);
        var b = Lease("jobs", "b");
        Assert.False(await b.Acquire());

        await AwaitAssertAsync(async () => Assert.True(await b.Acquire()), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
        Assert.True(b.FencingToken > ghost.Token);
        Assert.Equal("b", (await leases.ReadAsync("jobs")).Owner);
    }

    [Fact]
    public async Task The_holder_hears_of_a_lost_lease_through_its_callback_and_stops_believing_it_holds_it()
    {
        var leases = await LeasesAsync();
        var lost = CreateTestProbe();
        var a = Lease("jobs", "a");
        Assert.True(await a.Acquire(e => lost.Tell(e)));
        // Another node expired the current version (as after a partition that outlasted the time to live).
        var held = await leases.ReadAsync("jobs");
        Assert.True((await leases.ExpireAsync("jobs", held.Version!.Value)).Ok);

        var e = await lost.ExpectMsgAsync<LeaseException>(TimeSpan.FromSeconds(5));
        Assert.Contains("lost it", e.Message);
        Assert.False(a.CheckLease());
        Assert.Null(a.FencingToken);
    }

    [Fact]
    public async Task An_expiry_for_a_version_the_holder_has_since_renewed_changes_nothing()
    {
        var leases = await LeasesAsync();
        var a = Lease("jobs", "a");
        Assert.True(await a.Acquire());
        long stale = (await leases.ReadAsync("jobs")).Version!.Value;
        await AwaitAssertAsync(async () => Assert.True((await leases.ReadAsync("jobs")).Version > stale), TimeSpan.FromSeconds(5));

        Assert.False((await leases.ExpireAsync("jobs", stale)).Ok);
        Assert.True(a.CheckLease());
        Assert.Equal("a", (await leases.ReadAsync("jobs")).Owner);
    }
}
