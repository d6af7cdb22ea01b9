using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using PaxosActors.Durability.Tests.Support;
using PaxosActors.Node.Commands;
using PaxosActors.Node.Launch;
using Xunit.Abstractions;
using Xunit.Sdk;

// Three node processes per test on two cores: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PaxosActors.Durability.Tests;

/// <summary>
/// Durability (DESIGN.md, invariant 3) against a power cut, not just a crash. Every other crash in the suite is a
/// SIGKILL, which the operating system's page cache survives: a journal that never fsynced would pass them all. Here
/// three real <c>paxos-actors node</c> processes run with native/powercut.c preloaded, which keeps every write to
/// their SQLite files in memory until fsync; clients write unique keys through all three, and while writes are in
/// flight every node is SIGKILLed at once, losing exactly what it had not fsynced. The nodes restart (without the
/// library) and every write that was acknowledged (204) must read back. The negative control runs the same scenario
/// with the journal's <c>synchronous = off</c> and shows that the same check then fails: the test can tell a journal
/// that fsyncs before it acknowledges from one that does not.
/// </summary>
public sealed class PowerCutSpec(ITestOutputHelper output) : IDisposable
{
    private const int Writers = 6;
    private static readonly TimeSpan WritePhase = TimeSpan.FromSeconds(3);
    private const int MinAcknowledged = 100;

    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "paxos-actors-durability-tests", Guid.NewGuid().ToString("N"));
    private readonly List<NodeProcess> _nodes = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    private string DataDir => Path.Combine(_runDir, "data");

    public void Dispose()
    {
        foreach (var node in _nodes)
        {
            node.Dispose();
            foreach (var line in node.Output) output.WriteLine(line);
        }
        _http.Dispose();
        try { Directory.Delete(_runDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Every_write_acknowledged_before_a_power_cut_of_every_node_reads_back_after_it()
    {
        var run = await PowerCutAsync(synchronous: null);

        AssertEveryAcknowledgedWriteReadsBack(run);
        // Not vacuous: the library covered each node's database and WAL, and commits reached the disk through it.
        foreach (var node in _nodes)
        {
            var log = run.Shim[node.Id];
            Assert.True(log.Opened($"node-{node.Id}.db") && log.Opened($"node-{node.Id}.db-wal"),
                $"node {node.Id}: the power-cut library did not cover its SQLite files:\n{log}");
            Assert.True(log.Syncs($"node-{node.Id}.db-wal") > 0, $"node {node.Id}: no fsync of its WAL went through the library:\n{log}");
        }
    }

    [Fact]
    public async Task With_the_journal_not_fsyncing_the_same_power_cut_loses_acknowledged_writes_and_the_check_fails()
    {
        var run = await PowerCutAsync(synchronous: "off");

        var failure = Assert.ThrowsAny<XunitException>(() => AssertEveryAcknowledgedWriteReadsBack(run));
        Log($"as it must, the durability check failed: {failure.Message}");
        Assert.NotEmpty(run.Lost);
        foreach (var node in _nodes)
            Assert.Equal(0, run.Shim[node.Id].Syncs($"node-{node.Id}.db-wal"));
    }

    /// <summary>The durability check: every acknowledged write reads back with its value.</summary>
    private static void AssertEveryAcknowledgedWriteReadsBack(PowerCutRun run)
    {
        if (run.Lost.Count == 0) return;
        string examples = string.Join("\n", run.Lost.Take(5).Select(key =>
            $"  {key}: acknowledged {run.Acknowledged[key]}, read back {run.ReadBack[key] ?? "nothing (404)"}"));
        Assert.Fail($"{run.Lost.Count} of {run.Acknowledged.Count} writes acknowledged before the power cut were lost:\n{examples}");
    }

    /// <summary>
    /// Starts three nodes with the power-cut library on fresh ports and a fresh data directory (the journal's
    /// <c>synchronous</c> set to <paramref name="synchronous"/> if not null), writes for <see cref="WritePhase"/> (and
    /// at least <see cref="MinAcknowledged"/> acknowledged writes), SIGKILLs every node while writes are in flight,
    /// restarts them without the library and reads back every acknowledged key.
    /// </summary>
    private async Task<PowerCutRun> PowerCutAsync(string? synchronous)
    {
        Directory.CreateDirectory(DataDir);
        string library = PowerCutLibrary.Build(_runDir);
        string? config = null;
        if (synchronous is not null)
        {
            config = Path.Combine(_runDir, "node.conf");
            File.WriteAllText(config, NodeConfig() + $"""

                # The negative control: a journal that does not fsync its commits.
                akka.persistence.journal.paxos-sqlite.synchronous = {synchronous}
                akka.persistence.snapshot-store.paxos-sqlite.synchronous = {synchronous}
                """);
        }
        var launches = NodeLaunch.LoopbackCluster(FreePorts.Take(3), FreePorts.Take(3), DataDir);
        foreach (var launch in launches)
            _nodes.Add(new NodeProcess(launch with { ConfigFile = config }, outputFile: Path.Combine(_runDir, $"node-{launch.NodeId}.log")));
        foreach (var node in _nodes)
            node.Start(PowerCutLibrary.Environment(library, DataDir, ShimLog(node.Id)));
        await WhenWritableAsync();
        Log($"3 nodes writable with the power-cut library{(synchronous is null ? "" : $", journal synchronous = {synchronous}")}");

        var acknowledged = new ConcurrentDictionary<string, string>();
        int unknown = 0, inFlight = 0;
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                string key = $"w{w}-{i}", value = $"{key}-{Guid.NewGuid():N}";
                var node = _nodes[(w + i) % _nodes.Count];
                Interlocked.Increment(ref inFlight);
                try
                {
                    using var body = new ByteArrayContent(Encoding.UTF8.GetBytes(value));
                    using var response = await _http.PutAsync($"{node.Url}/kv/{key}", body, CancellationToken.None);
                    if (response.StatusCode == HttpStatusCode.NoContent) acknowledged[key] = value;
                    else Interlocked.Increment(ref unknown);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref unknown); // the power cut: its outcome is unknown
                }
                finally
                {
                    Interlocked.Decrement(ref inFlight);
                }
            }
        })).ToList();

        var writing = Stopwatch.StartNew();
        while (writing.Elapsed < WritePhase || (acknowledged.Count < MinAcknowledged && writing.Elapsed < TimeSpan.FromSeconds(30)))
        {
            if (writers.FirstOrDefault(w => w.IsFaulted) is { } failed) await failed;
            await Task.Delay(50);
        }
        int inFlightAtCut = Volatile.Read(ref inFlight);
        // The power cut: SIGKILL to every node before waiting for any, so none outlives the others by more than a moment.
        foreach (var node in _nodes)
        {
            node.Note("power cut");
            node.Process!.Kill();
        }
        await stop.CancelAsync();
        foreach (var node in _nodes)
        {
            node.Kill();
            await node.Exited.WaitAsync(TimeSpan.FromSeconds(20));
        }
        await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
        Log($"power cut after {writing.Elapsed.TotalSeconds:0.0} s of writes: {acknowledged.Count} acknowledged, {inFlightAtCut} in flight, " +
            $"{unknown} without an answer");
        Assert.True(acknowledged.Count >= MinAcknowledged, $"only {acknowledged.Count} writes were acknowledged in {writing.Elapsed.TotalSeconds:0.0} s");
        var shim = _nodes.ToDictionary(n => n.Id, n => ShimActivity.Read(ShimLog(n.Id)));
        foreach (var (id, activity) in shim) Log($"node {id}: {activity.Summary}");

        foreach (var node in _nodes) node.Start();
        await WhenWritableAsync();
        Log("restarted without the library; writable again");

        var readBack = await ReadBackAsync(acknowledged.Keys.ToList());
        var run = new PowerCutRun(acknowledged.ToDictionary(), readBack, shim);
        Log($"read back {readBack.Count} keys: {run.Lost.Count} acknowledged writes lost");
        return run;
    }

    /// <summary>Every node answers /status and takes a write (a leader elected, a quorum of acceptors voting).</summary>
    private async Task WhenWritableAsync()
    {
        foreach (var node in _nodes) await node.WaitReadyAsync(TimeSpan.FromSeconds(60));
        foreach (var node in _nodes) await node.WaitWritableAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>GET of every key, spread over the nodes, retried until it answers 200 or 404 (a read goes through the
    /// log, so a 503 only means "not yet"). Null for 404.</summary>
    private async Task<Dictionary<string, string?>> ReadBackAsync(IReadOnlyList<string> keys)
    {
        var results = new ConcurrentDictionary<string, string?>();
        var queue = new ConcurrentQueue<string>(keys);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(r => Task.Run(async () =>
        {
            int attempt = r;
            while (queue.TryDequeue(out var key))
            {
                string last = "";
                while (true)
                {
                    var node = _nodes[attempt++ % _nodes.Count];
                    try
                    {
                        using var response = await _http.GetAsync($"{node.Url}/kv/{key}");
                        if (response.StatusCode == HttpStatusCode.OK)
                        {
                            results[key] = await response.Content.ReadAsStringAsync();
                            break;
                        }
                        if (response.StatusCode == HttpStatusCode.NotFound)
                        {
                            results[key] = null;
                            break;
                        }
                        last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                    {
                        last = e.Message;
                    }
                    if (DateTime.UtcNow > deadline) throw new TimeoutException($"GET /kv/{key} got no answer after the restart (last: {last})");
                    await Task.Delay(100);
                }
            }
        })));
        return results.ToDictionary();
    }

    /// <summary>The node.hocon the executable runs by default, for a configuration file that adds to it.</summary>
    private static string NodeConfig()
    {
        using var stream = typeof(NodeCommand).Assembly.GetManifestResourceStream("node.hocon")
                           ?? throw new InvalidOperationException("paxos-actors has no embedded node.hocon");
        return new StreamReader(stream).ReadToEnd();
    }

    private string ShimLog(int nodeId) => Path.Combine(_runDir, $"powercut-node-{nodeId}.log");

    private void Log(string message) => output.WriteLine($"[{_watch.Elapsed.TotalSeconds,6:0.0}s] {message}");

    private sealed record PowerCutRun(
        IReadOnlyDictionary<string, string> Acknowledged,
        IReadOnlyDictionary<string, string?> ReadBack,
        IReadOnlyDictionary<int, ShimActivity> Shim)
    {
        /// <summary>Acknowledged keys that read back without their value, in key order.</summary>
        public IReadOnlyList<string> Lost { get; } =
            Acknowledged.Where(kv => ReadBack[kv.Key] != kv.Value).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>What the power-cut library noted in one node: the files it covered and the fsyncs per file.</summary>
    private sealed class ShimActivity
    {
        private readonly HashSet<string> _opened = [];
        private readonly Dictionary<string, int> _syncs = [];
        private readonly List<string> _other = [];

        public static ShimActivity Read(string path)
        {
            var activity = new ShimActivity();
            if (!File.Exists(path)) return activity;
            foreach (string line in File.ReadLines(path))
            {
                string[] words = line.Split(' ');
                if (words is ["open", .., _] && words.Length >= 3)
                    activity._opened.Add(Path.GetFileName(string.Join(' ', words[1..^1])));
                else if (words is ["sync", ..] && words.Length >= 4)
                {
                    string file = Path.GetFileName(string.Join(' ', words[1..^2]));
                    activity._syncs[file] = activity._syncs.GetValueOrDefault(file) + 1;
                }
                else activity._other.Add(line);
            }
            return activity;
        }

        public bool Opened(string file) => _opened.Contains(file);
        public int Syncs(string file) => _syncs.GetValueOrDefault(file);

        public string Summary =>
            $"power-cut library covered {string.Join(", ", _opened.Order())}; fsyncs: " +
            (_syncs.Count == 0 ? "none" : string.Join(", ", _syncs.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))) +
            (_other.Count == 0 ? "" : $"; also: {string.Join("; ", _other.Take(5))}");

        public override string ToString() => Summary;
    }
}
