using System.Text;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Kv;
using PaxosActors.Kv.Hosting;

namespace PaxosActors.Cluster.Tests;

/// <summary>Linearizable reads without the log (read index) on three in-process nodes: a leader cut off from the others
/// must not answer a read from its old state once the others have moved on.</summary>
public sealed class ReadIndexSpec : IAsyncLifetime
{
    private static readonly TimeSpan Formation = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Commit = TimeSpan.FromSeconds(10);

    private InProcessCluster _cluster = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }

    private static string? Text(KvResult r) => r.Value is { } v ? Encoding.UTF8.GetString(v.Span) : null;

    /// <summary>Cuts the Paxos traffic between <paramref name="island"/> and the other nodes, both ways.</summary>
    private void Split(int island, bool on)
    {
        foreach (int id in _cluster.Ids)
            _cluster[id].Context.Directory.Cut = !on ? null
                : id == island ? (_, m) => m.To.Node != island
                : (_, m) => m.To.Node == island;
    }

    [Fact]
    public async Task A_deposed_leader_cut_off_from_the_others_does_not_answer_a_read_with_its_stale_value()
    {
        _cluster = new InProcessCluster(3, "multi", _ => "paxos.kv.request-timeout = 3s");
        _cluster.StartAll();
        await _cluster.AwaitUpAsync(Formation);
        await _cluster.AwaitAcceptorsVotingAsync(Formation);
        await _cluster.PutAsync(1, "k", "old", Commit);
        int leader = await _cluster.AwaitLeaderAsync(Commit);
        int other = _cluster.Ids.First(id => id != leader);
        Assert.Equal("old", Text(await _cluster.Kv(leader).GetAsync("k", CancellationToken.None)));

        Split(leader, on: true);
        // The others elect a new leader among themselves and overwrite the key.
        await _cluster.PutAsync(other, "k", "new", Commit);
        Assert.Equal("new", Text(await _cluster.Kv(other).GetAsync("k", CancellationToken.None)));

        // The old leader still holds "old", as a serializable read shows (allowed to be stale, and it is) ...
        Assert.Equal("old", Text(_cluster.Kv(leader).ReadLocal("k")));
        // ... but a linearizable read there cannot confirm its leadership with a majority: no answer, never "old".
        await Assert.ThrowsAsync<KvUnavailableException>(() => _cluster.Kv(leader).GetAsync("k", CancellationToken.None));

        Split(leader, on: false);
        await Eventually.Holds(async () =>
            Assert.Equal("new", Text(await _cluster.Kv(leader).GetAsync("k", CancellationToken.None))), Commit);
    }
}
