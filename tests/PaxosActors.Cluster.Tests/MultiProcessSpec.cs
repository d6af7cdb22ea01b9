using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Node.Launch;
using Xunit.Abstractions;

namespace PaxosActors.Cluster.Tests;

/// <summary>
/// Three real <c>paxos-actors node</c> processes on loopback, driven over HTTP; the leader is SIGKILLed
/// under concurrent writes and restarted. Invariant 3 of the design: an acknowledged write survives any
/// minority of crashes and any number of restarts, and every node serves it.
/// </summary>
public sealed class MultiProcessSpec(ITestOutputHelper output) : IDisposable
{
    private const int Writers = 4;

    /// <summary>Where the test's progress and the nodes' output go too, to follow a run while it is going.</summary>
    private static readonly string ProgressLog = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", "multi-process-last-run.log");
    private readonly List<NodeProcess> _nodes = [];
    private readonly Lock _logLock = new();
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        foreach (var node in _nodes) node.Dispose(); // kills whatever still runs, even after a failure
        _http.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task Every_acknowledged_write_survives_a_SIGKILL_of_the_leader_under_concurrent_writes_and_is_served_by_every_node()
    {
        var watch = Stopwatch.StartNew();
        void Log(string what)
        {
            string line = $"{watch.Elapsed.TotalSeconds,6:0.00} s  {what}";
            output.WriteLine(line);
            lock (_logLock) File.AppendAllText(ProgressLog, line + "\n");
        }
        Directory.CreateDirectory(Path.GetDirectoryName(ProgressLog)!);
        File.WriteAllText(ProgressLog, "");
        try
        {
            var http = FreePorts.Take(3);
            var remote = FreePorts.Take(3);
            // Each node stops when its stdin (held by this test) closes: no orphans if the test host dies.
            _nodes.AddRange(NodeLaunch.LoopbackCluster(http, remote, _dataDir, "multi", "WARNING").Select(l => new NodeProcess(l)));
            Log($"nodes: http {string.Join(",", http)}, remoting {string.Join(",", remote)}, data {_dataDir}, dll {NodeExecutable.Dll}");
            foreach (var node in _nodes) node.Start();
            foreach (var node in _nodes) await AwaitStatusAsync(node, TimeSpan.FromSeconds(60));
            Log("every node answers /status");

            await Eventually.Holds(async () => Assert.Equal(HttpStatusCode.NoContent, await PutAsync(_nodes[0], "warm-up", "0")),
                TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(200));
            int leaderId = await AgreedLeaderAsync(TimeSpan.FromSeconds(15));
            var leader = _nodes[leaderId - 1];
            var followers = _nodes.Where(n => n != leader).ToList();
            Log($"leader is node {leaderId}");

            var acked = new ConcurrentDictionary<string, string>();
            int attempts = 0, failures = 0;
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (int n = 0; !stop.IsCancellationRequested; n++)
                {
                    string key = $"w{w}-{n}", value = $"value-{w}-{n}-{Guid.NewGuid():N}";
                    var target = followers[(w + n) % followers.Count];
                    Interlocked.Increment(ref attempts);
                    HttpStatusCode? status = null;
                    try
                    {
                        status = await PutAsync(target, key, value);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                    if (status == HttpStatusCode.NoContent) acked[key] = value;
                    else
                    {
                        Interlocked.Increment(ref failures);
                        await Task.Delay(50); // a node that cannot serve right now: do not spin on it
                    }
                }
            })).ToList();

            await Eventually.Holds(() => { Assert.True(acked.Count >= 20, $"{acked.Count} writes acknowledged"); return Task.CompletedTask; },
                TimeSpan.FromSeconds(20));
            int beforeKill = acked.Count;
            leader.Kill();
            var killedAt = watch.Elapsed;
            Log($"SIGKILLed leader node {leaderId} after {beforeKill} acknowledged writes");

            // Keep writing for a few seconds through the survivors, and make sure they do get through.
            await Eventually.Holds(() =>
            {
                Assert.True(acked.Count >= beforeKill + 20, $"{acked.Count - beforeKill} writes acknowledged since the kill");
                Assert.True(watch.Elapsed - killedAt >= TimeSpan.FromSeconds(3), "writing on");
                return Task.CompletedTask;
            }, TimeSpan.FromSeconds(20));
            Log($"{acked.Count - beforeKill} writes acknowledged since the kill; restarting node {leaderId}");

            leader.Start();
            await AwaitStatusAsync(leader, TimeSpan.FromSeconds(60));
            int beforeRestart = acked.Count;
            await Eventually.Holds(() => { Assert.True(acked.Count >= beforeRestart + 10, "writes after the restart"); return Task.CompletedTask; },
                TimeSpan.FromSeconds(20));
            stop.Cancel();
            await Task.WhenAll(writers).WaitAsync(TimeSpan.FromSeconds(30));
            Log($"writers stopped: {attempts} attempts, {acked.Count} acknowledged, {failures} not acknowledged");

            // Every acknowledged write, on every node, with its value: one deadline for the whole check.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            foreach (var node in _nodes)
            {
                var pending = new ConcurrentDictionary<string, string>(acked);
                string lastProblem = "";
                while (!pending.IsEmpty)
                {
                    Assert.True(node.Running, $"node {node.Id} exited:\n{string.Join("\n", node.Output.TakeLast(30))}");
                    Assert.False(deadline.IsCancellationRequested,
                        $"{pending.Count} of {acked.Count} acknowledged writes not served by node {node.Id} within 60 s; last: {lastProblem}; " +
                        $"e.g. {string.Join(", ", pending.Take(5).Select(p => p.Key))}");
                    await Parallel.ForEachAsync(pending.ToList(), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (kv, _) =>
                    {
                        try
                        {
                            using var resp = await _http.GetAsync($"{node.Url}/kv/{kv.Key}", deadline.Token);
                            string body = await resp.Content.ReadAsStringAsync(deadline.Token);
                            if (resp.StatusCode == HttpStatusCode.OK && body == kv.Value) pending.TryRemove(kv.Key, out string? _);
                            else lastProblem = $"GET /kv/{kv.Key} answered {(int)resp.StatusCode} '{body}', expected 200 '{kv.Value}'";
                        }
                        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or OperationCanceledException)
                        {
                            lastProblem = $"GET /kv/{kv.Key}: {e.GetType().Name} {e.Message}";
                        }
                    });
                    if (!pending.IsEmpty)
                    {
                        Log($"node {node.Id}: {pending.Count} not served yet ({lastProblem})");
                        await Task.Delay(200);
                    }
                }
                Log($"node {node.Id} serves all {acked.Count} acknowledged writes");
            }
        }
        catch
        {
            // What each node thinks of the cluster when the test failed: leader, members, reachability.
            foreach (var node in _nodes.Where(n => n.Running))
            {
                try { Log($"node {node.Id} /status: {await _http.GetStringAsync($"{node.Url}/status")}"); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { Log($"node {node.Id} /status: {e.Message}"); }
            }
            throw;
        }
        finally
        {
            foreach (var node in _nodes)
            foreach (var line in node.Output.TakeLast(200))
            {
                output.WriteLine(line);
                File.AppendAllText(ProgressLog, line + "\n");
            }
        }
    }

    private async Task<HttpStatusCode> PutAsync(NodeProcess node, string key, string value)
    {
        using var resp = await _http.PutAsync($"{node.Url}/kv/{key}", new StringContent(value));
        return resp.StatusCode;
    }

    /// <summary>Until this incarnation of the node (not another process on its port) answers /status; fails at once if it exits.</summary>
    private static Task AwaitStatusAsync(NodeProcess node, TimeSpan timeout) => node.WaitReadyAsync(timeout);

    /// <summary>The leader every node's /status names, once every acceptor votes (a new acceptor votes only after
    /// every other one has recorded it; killing a node before that tests a cluster still forming).</summary>
    private Task<int> AgreedLeaderAsync(TimeSpan timeout) => Eventually.Returns(async () =>
    {
        var leaders = new List<int?>();
        foreach (var node in _nodes)
        {
            using var doc = JsonDocument.Parse(await _http.GetStringAsync($"{node.Url}/status"));
            var acceptor = doc.RootElement.GetProperty("acceptor");
            Assert.True(acceptor.GetProperty("votes").GetBoolean(), $"node {node.Id}'s acceptor: {acceptor.GetProperty("state").GetString()}");
            var leader = doc.RootElement.GetProperty("leader");
            leaders.Add(leader.ValueKind == JsonValueKind.Number ? leader.GetInt32() : null);
        }
        Assert.True(leaders.Distinct().Count() == 1 && leaders[0] is not null, $"leaders seen: {string.Join(",", leaders)}");
        return leaders[0]!.Value;
    }, timeout, TimeSpan.FromMilliseconds(200));
}
