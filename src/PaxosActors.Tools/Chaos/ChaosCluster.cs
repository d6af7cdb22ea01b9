using PaxosActors.Node.Launch;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// N node processes on loopback with free ports and a fresh data directory, plus the faults the harness
/// injects into them: SIGKILL and restart, SIGSTOP and SIGCONT, and partitions (each side blackholes the
/// other's remoting endpoint through the node's fault-injection admin endpoint). Each node's output is
/// appended to node-N.log in the run's directory. Every fault is confirmed: a block or heal counts once the
/// node says its transport applied it, a signal once the kernel shows its effect.
/// </summary>
public sealed class ChaosCluster : IDisposable
{
    /// <summary>How long a block or heal is retried on a node that does not confirm it (one whose ActorSystem or
    /// process is restarting answers applied: false, or nothing, for a few seconds).</summary>
    public static readonly TimeSpan AdminBound = TimeSpan.FromSeconds(30);

    /// <summary>How long a signal may take to show in /proc/PID/stat.</summary>
    public static readonly TimeSpan SignalBound = TimeSpan.FromSeconds(5);

    private readonly KvClient _kv;
    // Directed pairs (from, to): node "from" drops all traffic with node "to".
    private readonly HashSet<(int From, int To)> _blocked = new();

    /// <param name="count">Nodes 1..count: the first acceptor set (<c>--acceptors 1,...,count</c> on every node).</param>
    /// <param name="staleReadNode">A node started with <c>PAXOS_FAULT_STALE_READS=on</c>: it answers reads from its own
    /// state, past the log (the control run's deliberately broken node); null: none.</param>
    /// <param name="spares">Nodes count+1.. that run every agent (an acceptor too) but start outside the acceptor set: they
    /// join the cluster and learn, and vote once a membership change adds them.</param>
    /// <param name="nodeConfig">A HOCON file every node reads over its built-in configuration (<c>--extra-config</c>).</param>
    /// <param name="logLevel">The nodes' Akka log level (<c>--log-level</c>).</param>
    public ChaosCluster(int count, string mode, string dir, KvClient kv, int? staleReadNode = null, int spares = 0, string? nodeConfig = null,
        string logLevel = ChaosOptions.DefaultLogLevel)
    {
        _kv = kv;
        string data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        // Fault injection on: the throttler transport adapter and POST /admin/block, /admin/heal.
        var environment = new Dictionary<string, string> { ["PAXOS_FAULT_INJECTION"] = "on", ["DOTNET_gcServer"] = "0" };
        FirstAcceptors = Enumerable.Range(1, count).ToList();
        string acceptors = string.Join(",", FirstAcceptors);
        Nodes = NodeLaunch.LoopbackCluster(FreePorts.Take(count + spares), FreePorts.Take(count + spares), data, mode, logLevel)
            .Select(l => new NodeProcess(l with
            {
                Acceptors = acceptors,
                ExtraArgs = nodeConfig is null ? l.ExtraArgs : [.. l.ExtraArgs, "--extra-config", nodeConfig],
                Environment = l.NodeId == staleReadNode
                    ? new Dictionary<string, string>(environment) { ["PAXOS_FAULT_STALE_READS"] = "on" }
                    : environment,
            }, outputFile: Path.Combine(dir, $"node-{l.NodeId}.log"), keepLines: 200))
            .ToList();
    }

    /// <summary>Every node: the first acceptors, then the spares.</summary>
    public IReadOnlyList<NodeProcess> Nodes { get; }

    /// <summary>The acceptor set the cluster starts with: nodes 1..count (the spares are outside it).</summary>
    public IReadOnlyList<int> FirstAcceptors { get; }

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

    /// <summary>
    /// Cuts every node of <paramref name="side"/> off from every other node, both ways: each running, unpaused node on
    /// either side is told to blackhole every node across the cut, and must confirm it (retried for <see cref="AdminBound"/>).
    /// A paused or dead node is not told; the other end's blackhole (which drops both directions) cuts the pair, and a
    /// node restarting meanwhile starts with the blocks. The partition holds if every pair across the cut has one end
    /// that confirmed.
    /// </summary>
    public async Task<PartitionOutcome> PartitionAsync(IReadOnlyCollection<int> side, CancellationToken ct)
    {
        var other = Nodes.Select(n => n.Id).Except(side).ToList();
        var pairs = side.SelectMany(a => other.Select(b => (A: a, B: b))).ToList();
        lock (_blocked)
            foreach (var (a, b) in pairs)
            {
                _blocked.Add((a, b));
                _blocked.Add((b, a));
            }
        var confirmed = new HashSet<(int, int)>();
        var errors = new List<string>();
        var untold = new List<int>();
        foreach (var (from, to) in pairs.SelectMany(p => new[] { (p.A, p.B), (p.B, p.A) }))
        {
            var n = this[from];
            if (!n.Running || n.Paused)
            {
                if (!untold.Contains(from)) untold.Add(from);
                continue;
            }
            if (await UntilConfirmedAsync(n, $"/admin/block?address={this[to].RemoteEndpoint}", ct) is { } error)
                errors.Add($"node {from} did not confirm blocking node {to} within {AdminBound.TotalSeconds:0} s: {error}");
            else confirmed.Add((from, to));
        }
        var open = pairs.Where(p => !confirmed.Contains((p.A, p.B)) && !confirmed.Contains((p.B, p.A))).ToList();
        return new PartitionOutcome(errors, untold, open.Select(p => $"{p.A}-{p.B}").ToList());
    }

    /// <summary>Ends every partition on every running, unpaused node, each confirming it (retried for
    /// <see cref="AdminBound"/>); returns what did not confirm. A paused or dead node is healed when it is back
    /// (<see cref="HealAllAsync"/>); a restarted one starts with the blocks that still hold.</summary>
    public async Task<List<string>> HealPartitionsAsync(CancellationToken ct)
    {
        lock (_blocked) _blocked.Clear();
        var errors = new List<string>();
        foreach (var n in Nodes.Where(n => n.Running && !n.Paused))
            if (await UntilConfirmedAsync(n, "/admin/heal", ct) is { } error)
                errors.Add($"node {n.Id} did not confirm healing within {AdminBound.TotalSeconds:0} s: {error}");
        return errors;
    }

    /// <summary>Every fault undone: paused nodes resumed (and seen running), dead ones restarted, partitions healed on
    /// every node (each confirming it within <paramref name="within"/>). Returns what could not be undone.</summary>
    public async Task<List<string>> HealAllAsync(TimeSpan within, CancellationToken ct)
    {
        var errors = new List<string>();
        foreach (var n in Nodes.Where(n => n.Paused))
        {
            n.Resume();
            if (!await WaitOsStateAsync(n, s => s is not 'T', ct))
                errors.Add($"node {n.Id} still stopped after SIGCONT (state {n.OsState})");
        }
        lock (_blocked) _blocked.Clear();
        foreach (var n in Nodes.Where(n => !n.Running)) Restart(n);
        var deadline = DateTime.UtcNow + within;
        var pending = Nodes.ToDictionary(n => n, _ => "not asked");
        while (pending.Count > 0)
        {
            foreach (var n in pending.Keys.ToList())
            {
                if (!n.Running) Restart(n);
                if (await _kv.AdminAsync(n.Url, "/admin/heal", ct) is { } error) pending[n] = error;
                else pending.Remove(n);
            }
            if (pending.Count == 0 || DateTime.UtcNow > deadline) break;
            await Task.Delay(250, ct);
        }
        errors.AddRange(pending.Select(p => $"node {p.Key.Id} did not confirm healing within {within.TotalSeconds:0} s: {p.Value}"));
        return errors;
    }

    /// <summary>Retries an admin command on one node until it confirms, for <see cref="AdminBound"/>; null, or the last error.</summary>
    private async Task<string?> UntilConfirmedAsync(NodeProcess node, string command, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + AdminBound;
        while (true)
        {
            var error = await _kv.AdminAsync(node.Url, command, ct);
            if (error is null) return null;
            if (DateTime.UtcNow > deadline) return error;
            await Task.Delay(250, ct);
        }
    }

    /// <summary>Polls the node's /proc state until <paramref name="wanted"/> holds, for <see cref="SignalBound"/>.</summary>
    public static async Task<bool> WaitOsStateAsync(NodeProcess node, Func<char?, bool> wanted, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + SignalBound;
        while (true)
        {
            if (wanted(node.OsState)) return true;
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(10, ct);
        }
    }

    public void Dispose()
    {
        foreach (var n in Nodes) n.Dispose();
    }
}

/// <summary>What a partition request achieved: <paramref name="Errors"/>, nodes that answered failure (a harness error);
/// <paramref name="Untold"/>, nodes not told because they were paused or dead; <paramref name="Open"/>, pairs across the
/// cut that no end confirmed cutting (the partition does not hold for them).</summary>
public sealed record PartitionOutcome(IReadOnlyList<string> Errors, IReadOnlyList<int> Untold, IReadOnlyList<string> Open)
{
    public bool Holds => Errors.Count == 0 && Open.Count == 0;
}
