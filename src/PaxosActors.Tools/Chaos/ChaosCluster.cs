using PaxosActors.Node.Launch;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// N node processes on loopback with free ports and a fresh data directory, plus the faults the harness
/// injects into them: SIGKILL and restart, SIGSTOP and SIGCONT, and partitions (each side blackholes the
/// other's remoting endpoint through the node's fault-injection admin endpoint). Each node's output is
/// appended to node-N.log in the run's directory.
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
        // Fault injection on: the throttler transport adapter and POST /admin/block, /admin/heal.
        var environment = new Dictionary<string, string> { ["PAXOS_FAULT_INJECTION"] = "on", ["DOTNET_gcServer"] = "0" };
        Nodes = NodeLaunch.LoopbackCluster(FreePorts.Take(count), FreePorts.Take(count), data, mode, "WARNING")
            .Select(l => new NodeProcess(l with { Environment = environment }, outputFile: Path.Combine(dir, $"node-{l.NodeId}.log"), keepLines: 200))
            .ToList();
    }

    public IReadOnlyList<NodeProcess> Nodes { get; }

    public NodeProcess this[int id] => Nodes[id - 1];

    public void StartAll()
    {
        foreach (var n in Nodes) n.Start(BlockedAtStart(n));
    }

    /// <summary>Starts a dead node again, cut off from its first moment by the partitions that still hold; false if it
    /// cannot start because a port of its is taken (noted in its log; healing tries again).</summary>
    public bool Restart(NodeProcess node)
    {
        try
        {
            node.Start(BlockedAtStart(node));
            return true;
        }
        catch (PortInUseException e)
        {
            node.Note($"cannot restart: {e.Message}");
            return false;
        }
    }

    /// <summary>The endpoints a node starting now must not reach (a partition that outlives a crash).</summary>
    private Dictionary<string, string> BlockedAtStart(NodeProcess node) => new()
    {
        ["PAXOS_FAULT_BLOCKED"] = string.Join(",", Blocks().Where(b => b.From == node.Id).Select(b => this[b.To].RemoteEndpoint)),
    };

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
}
