using System.Net;
using System.Net.Sockets;

namespace PaxosActors.Node.Chaos;

/// <summary>
/// N node processes on loopback with free ports and a fresh data directory, plus the faults the harness
/// injects into them: SIGKILL and restart, SIGSTOP and SIGCONT, and partitions (each side blackholes the
/// other's remoting endpoint through the node's fault-injection admin endpoint).
/// </summary>
public sealed class ChaosCluster : IDisposable
{
    private readonly KvClient _kv;
    // Directed pairs (from, to): node "from" drops all traffic with node "to".
    private readonly HashSet<(int From, int To)> _blocked = new();

    public ChaosCluster(int count, string mode, string dir, KvClient kv)
    {
        _kv = kv;
        string data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        var ports = FreePorts(2 * count);
        var ids = Enumerable.Range(1, count).ToList();
        string seeds = string.Join(",", ids.Take(3).Select(i => $"127.0.0.1:{ports[count + i - 1]}"));
        Nodes = ids.Select(id => new NodeProcess(id, ports[id - 1], ports[count + id - 1], [
            "node", "--node-id", $"{id}", "--http-port", $"{ports[id - 1]}", "--remote-port", $"{ports[count + id - 1]}",
            "--seeds", seeds, "--acceptors", string.Join(",", ids), "--data-dir", data, "--mode", mode,
            "--log-level", "WARNING", "--exit-with-stdin",
        ], Path.Combine(dir, $"node-{id}.log"))).ToList();
    }

    public IReadOnlyList<NodeProcess> Nodes { get; }

    public NodeProcess this[int id] => Nodes[id - 1];

    public void StartAll()
    {
        foreach (var n in Nodes) n.Start();
    }

    public void Restart(NodeProcess node)
    {
        node.BlockedAtStart = Blocks().Where(b => b.From == node.Id).Select(b => this[b.To].RemoteEndpoint).ToList();
        node.Start();
    }

    /// <summary>The leader as the first answering node reports it, or null.</summary>
    public async Task<int?> LeaderAsync(CancellationToken ct)
    {
        foreach (var n in Nodes.Where(n => n.Running && !n.Paused))
            if (await _kv.StatusAsync(n.Url, TimeSpan.FromSeconds(1), ct) is { Leader: { } leader })
                return leader;
        return null;
    }

    private List<(int From, int To)> Blocks()
    {
        lock (_blocked) return _blocked.ToList();
    }

    /// <summary>Cuts every node of <paramref name="side"/> off from every other node, both ways.</summary>
    public async Task PartitionAsync(IReadOnlyCollection<int> side, CancellationToken ct)
    {
        var other = Nodes.Select(n => n.Id).Except(side).ToList();
        lock (_blocked)
            foreach (int a in side)
                foreach (int b in other)
                {
                    _blocked.Add((a, b));
                    _blocked.Add((b, a));
                }
        await ApplyBlocksAsync(ct);
    }

    private async Task ApplyBlocksAsync(CancellationToken ct)
    {
        foreach (var (from, to) in Blocks()) // healing may clear the set while a partition is being applied
        {
            var n = this[from];
            if (n.Running && !n.Paused) await _kv.AdminAsync(n.Url, $"/admin/block?address={this[to].RemoteEndpoint}", ct);
        }
    }

    /// <summary>Ends every partition. A paused or dead node cannot be told now: it is healed when it is back
    /// (<see cref="HealAllAsync"/>), and a restarted one starts with the blocks that still hold.</summary>
    public async Task<bool> HealPartitionsAsync(CancellationToken ct)
    {
        lock (_blocked) _blocked.Clear();
        bool all = true;
        foreach (var n in Nodes.Where(n => n.Running && !n.Paused))
            all &= await _kv.AdminAsync(n.Url, "/admin/heal", ct);
        return all;
    }

    /// <summary>Every fault undone: paused nodes resumed, dead ones restarted, partitions healed (retried
    /// until every node confirms, or the deadline).</summary>
    public async Task HealAllAsync(TimeSpan within, CancellationToken ct)
    {
        foreach (var n in Nodes) n.Resume();
        lock (_blocked) _blocked.Clear();
        foreach (var n in Nodes.Where(n => !n.Running)) Restart(n);
        var deadline = DateTime.UtcNow + within;
        var pending = Nodes.ToList();
        while (pending.Count > 0 && DateTime.UtcNow < deadline)
        {
            var still = new List<NodeProcess>();
            foreach (var n in pending)
                if (!await _kv.AdminAsync(n.Url, "/admin/heal", ct)) still.Add(n);
            pending = still;
            if (pending.Count > 0) await Task.Delay(250, ct);
        }
    }

    public void Dispose()
    {
        foreach (var n in Nodes) n.Dispose();
    }

    private static List<int> FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ =>
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return l;
        }).ToList();
        var ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToList();
        foreach (var l in listeners) l.Stop();
        return ports;
    }
}
