using PaxosActors.Node.Launch;

namespace PaxosActors.Tools.Bench;

/// <summary>
/// A loopback cluster that <c>bench</c> starts for itself: N node processes (<see cref="NodeProcess"/>) on free
/// ports, with their journals in a fresh temporary directory that is deleted when the cluster is disposed. Node
/// output goes to <paramref name="log"/>.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    private readonly List<NodeProcess> _nodes;
    private readonly TextWriter _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _watches;

    public string DataDir { get; }
    public IReadOnlyList<string> Endpoints { get; }

    public BenchCluster(int nodes, string mode, string logLevel, TextWriter log, string? nodeConfig = null)
    {
        _log = log;
        DataDir = Directory.CreateTempSubdirectory("paxos-bench-").FullName;
        var output = NodeOutputLine.ToWriters(log, log);
        _nodes = NodeLaunch.LoopbackCluster(FreePorts.Take(nodes), FreePorts.Take(nodes), DataDir, mode, logLevel)
            .Select(l => nodeConfig is null ? l : l with { ExtraArgs = ["--extra-config", nodeConfig] })
            .Select(l => new NodeProcess(l, output, keepLines: 100)).ToList();
        Endpoints = _nodes.Select(n => n.Url).ToList();
        foreach (var n in _nodes) n.Start();
        _watches = _nodes.Select(n => n.KeepAliveAsync(restart: false, _stopping.Token)).ToList();
    }

    /// <summary>Waits until every node answers <c>/status</c> and a write succeeds; false if that takes
    /// longer than <paramref name="limit"/>, a node exits, or <paramref name="ct"/> is cancelled.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan limit, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + limit;
        try
        {
            foreach (var n in _nodes) await n.WaitReadyAsync(deadline - DateTime.UtcNow, ct);
            await _nodes[0].WaitWritableAsync(deadline - DateTime.UtcNow, ct, "bench-ready");
            return true;
        }
        catch (NodeNotReadyException e)
        {
            _log.WriteLine($"bench: {e.Reason}");
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>CPU seconds used so far by all the node processes, or null if any cannot be read.</summary>
    public double? CpuSeconds()
    {
        double sum = 0;
        foreach (var n in _nodes)
        {
            if (n.Process is not { } p || ProcStats.CpuSeconds(p.Id) is not { } s) return null;
            sum += s;
        }
        return sum;
    }

    /// <summary>Each node's peak resident set size in MiB (null for one that cannot be read).</summary>
    public IReadOnlyList<double?> PeakRssMb() =>
        _nodes.Select(n => n.Process is { } p ? ProcStats.PeakRssMb(p.Id) : null).ToList();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_nodes.Select(n => n.StopAsync()));
        await Task.WhenAll(_watches);
        foreach (var n in _nodes) n.Dispose();
        _stopping.Dispose();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(DataDir, recursive: true);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException e) when (attempt < 5)
            {
                _log.WriteLine($"bench: cannot delete {DataDir} yet ({e.Message}); retrying");
                await Task.Delay(500);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _log.WriteLine($"bench: could not delete {DataDir}: {e.Message}");
                return;
            }
        }
    }
}
