using System.Net;
using System.Net.Sockets;
using PaxosActors.Node.Commands;

namespace PaxosActors.Node.Bench;

/// <summary>
/// A loopback cluster that <c>bench</c> starts for itself: N node processes (the <c>local</c> command's
/// <see cref="LocalNodeProcess"/>) on free ports, with their journals in a fresh temporary directory that
/// is deleted when the cluster is disposed. Node output goes to <paramref name="log"/>.
/// </summary>
public sealed class BenchCluster : IAsyncDisposable
{
    private readonly List<LocalNodeProcess> _nodes;
    private readonly TextWriter _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _watches;

    public string DataDir { get; }
    public IReadOnlyList<string> Endpoints { get; }

    public BenchCluster(int nodes, string mode, string logLevel, TextWriter log)
    {
        _log = log;
        DataDir = Directory.CreateTempSubdirectory("paxos-bench-").FullName;
        var ports = FreePorts(2 * nodes);
        var ids = Enumerable.Range(1, nodes).ToList();
        int Http(int id) => ports[id - 1];
        int Remote(int id) => ports[nodes + id - 1];
        string seeds = string.Join(",", ids.Take(3).Select(i => $"127.0.0.1:{Remote(i)}"));
        string acceptors = string.Join(",", ids);
        _nodes = ids.Select(id => new LocalNodeProcess(id,
            LocalNodeProcess.NodeArgs(id, Http(id), Remote(id), seeds, acceptors, DataDir, mode, logLevel), log, log)).ToList();
        Endpoints = ids.Select(i => $"http://127.0.0.1:{Http(i)}").ToList();
        foreach (var n in _nodes) n.Start();
        _watches = _nodes.Select(n => n.KeepAliveAsync(restart: false, _stopping.Token)).ToList();
    }

    /// <summary>Waits until every node answers <c>/status</c> and a write succeeds; false if that takes
    /// longer than <paramref name="limit"/>, a node exits, or <paramref name="ct"/> is cancelled.</summary>
    public async Task<bool> WaitReadyAsync(TimeSpan limit, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        var exited = Task.WhenAny(_watches); // a node that exits now (say, its port was taken) will not get ready
        var status = LocalNodeProcess.WaitReadyAsync(Endpoints, deadline.Token, limit);
        if (await Task.WhenAny(status, exited) != status || !await status) return false;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        while (!deadline.IsCancellationRequested && !_watches.Any(t => t.IsCompleted))
        {
            try
            {
                using var body = new ByteArrayContent("ready"u8.ToArray());
                using var resp = await http.PutAsync($"{Endpoints[0]}/kv/bench-ready", body, deadline.Token);
                if (resp.IsSuccessStatusCode) return true;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException) { }
            try { await Task.Delay(200, deadline.Token); } catch (OperationCanceledException) { }
        }
        return false;
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

    /// <summary>Ports the OS hands out as free, all held at once so they are distinct, then released.</summary>
    private static int[] FreePorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (int i = 0; i < count; i++)
            {
                var l = new TcpListener(IPAddress.Loopback, 0);
                l.Start();
                listeners.Add(l);
            }
            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var l in listeners) l.Stop();
        }
    }
}
