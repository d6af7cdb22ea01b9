using System.Diagnostics;
using PaxosActors.Checker;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// One run: a fresh cluster, concurrent clients recording a history, a seeded fault schedule, then every
/// fault healed and the invariants checked. The cluster must serve a write through every node and all
/// nodes must reach the same applied slot with the same digest of their key-value state within
/// <see cref="RecoveryBound"/>; a final read of every key through every node goes into the history, so an
/// acknowledged write that was lost shows up as a linearizability violation; the whole history must check
/// within <see cref="CheckTimeout"/> (a key the checker does not finish fails the run). With membership changes, every
/// node must also agree on one acceptor set that the harness's changes explain (<see cref="MembershipChanges"/>). A run in which a fault
/// could not be confirmed, or whose clients completed fewer than <see cref="ChaosOptions.MinOps"/> operations,
/// fails too: it did not test what it claims.
/// </summary>
public sealed class ChaosRun(ChaosOptions options, int index, int seed, TimeSpan faultPhase, TextWriter console)
{
    /// <summary>From the start of healing: a killed node's restart alone takes 10-20 s on a loaded 2-core box.</summary>
    public static readonly TimeSpan RecoveryBound = TimeSpan.FromSeconds(60);

    /// <summary>The checker's default budget for a run's whole history (<see cref="ChaosOptions.CheckBudget"/>). A run's
    /// history checks in well under a second (see the summary's check times); the budget is for a machine that is
    /// much slower, not for larger histories.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(60);

    private readonly List<string> _anomalies = new();
    private readonly List<string> _unknown = new();
    private readonly List<string> _errors = new();
    private readonly Stopwatch _clock = new();
    private readonly Lock _logGate = new();
    private StreamWriter? _log;
    private int _probes;

    public async Task<RunResult> RunAsync(CancellationToken ct)
    {
        string dir = Path.GetFullPath(Path.Combine(options.Out, $"run-{index:D3}-seed-{seed}"));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        using var log = new StreamWriter(Path.Combine(dir, "chaos.log")) { AutoFlush = true };
        _log = log;
        _clock.Start();
        var random = new Random(seed);
        using var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) };
        // Above the node's own request timeout (5 s), so the node usually answers before the client gives up.
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(7) };
        var kv = new KvClient(http);
        // A membership change answers once in force, or after the node's own 20 s: clients of their own (MembersClient
        // bounds each call). Changes never reuse a connection, so HttpClient never sends one twice (MembersClient.ChangeAsync).
        using var adminHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5) };
        using var adminHttp = new HttpClient(adminHandler) { Timeout = Timeout.InfiniteTimeSpan };
        using var changeHandler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(2), PooledConnectionLifetime = TimeSpan.Zero };
        using var changeHttp = new HttpClient(changeHandler) { Timeout = Timeout.InfiniteTimeSpan };
        var members = new MembersClient(adminHttp, changeHttp);
        var history = new HistoryLog(Path.Combine(dir, "history.jsonl"));
        var confirmed = new Dictionary<string, int>();
        var planned = new Dictionary<string, int>();
        var membershipStats = MembershipStats.None;
        var clientOps = new OpCounts();
        int finalReads = 0;
        TimeSpan? served = null, converged = null;
        CheckSummary? summary = null;
        using (var cluster = new ChaosCluster(options.Nodes, options.Mode, dir, kv, options.StaleReadNode, options.SpareNodes, options.NodeConfig, options.LogLevel))
        {
            // Its own stream: the other faults' draws, and the clients', are those of a run without membership changes.
            var membership = options.MembershipChanges
                ? new MembershipChanges(cluster, members, new Random(unchecked(seed * 7919 + 104_729)), Log)
                : null;
            var schedule = new FaultSchedule(cluster, random, Log, options.Faults, options.Target, membership);
            Log($"run {index}, seed {seed}: {options.Nodes} nodes ({options.Mode})" +
                (options.SpareNodes > 0 ? $" + {options.SpareNodes} spare(s) outside the acceptor set" : "") +
                $", {options.Clients} clients, {faultPhase.TotalSeconds:0} s of faults" +
                (options.Faults is { } kinds ? $" ({string.Join(", ", kinds)})" : "") + (options.Target is { } t ? $" aimed at node {t}" : "") +
                (options.StaleReadNode is { } broken ? $"; CONTROL RUN: node {broken} answers reads past the log (stale reads), the checker must flag it" : ""));
            Log($"replay: {options.ReplayCommand(seed, faultPhase)}");
            cluster.StartAll();
            if (!await ServesAsync(cluster, kv, history, 1000, TimeSpan.FromSeconds(60), ct))
            {
                _anomalies.Add("the cluster did not start serving within 60 s");
            }
            else
            {
                var keys = Enumerable.Range(0, options.Keys).Select(k => $"k{k}").ToList();
                using var stop = new CancellationTokenSource();
                var clients = Enumerable.Range(0, options.Clients)
                    .Select(i => new ChaosClient(i, options.Clients, cluster.Nodes, keys, kv, history, new Random(seed * 31 + i + 1)))
                    .ToList();
                var running = clients.Select(c => Task.Run(() => c.RunAsync(stop.Token), CancellationToken.None)).ToList();
                var healed = TimeSpan.Zero;
                try
                {
                    await schedule.RunAsync(faultPhase, ct);
                }
                finally
                {
                    Log("healing every fault");
                    healed = _clock.Elapsed;
                    var unhealed = await cluster.HealAllAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
                    foreach (var e in unhealed) Log($"HARNESS ERROR: {e}");
                    _errors.AddRange(unhealed);
                }
                // The clients keep going while the cluster recovers: serving again means serving them too.
                bool serves = await ServesAsync(cluster, kv, history, 2000, RecoveryBound - (_clock.Elapsed - healed), ct);
                served = _clock.Elapsed - healed;
                if (serves) Log($"every node served a write {served.Value.TotalSeconds:0.0} s after healing");
                else _anomalies.Add($"not every node served a write within {RecoveryBound.TotalSeconds:0} s of healing");
                stop.Cancel();
                await Task.WhenAll(running);
                clientOps = clients.Aggregate(new OpCounts(), (sum, c) => sum + c.Counts);
                var written = clients.SelectMany(c => c.KeysWritten).Distinct().OrderBy(k => k).ToList();
                finalReads = await FinalReadsAsync(cluster, kv, history, written, ct);
                if (membership is not null)
                {
                    // Any change in progress has settled one way or the other by now; every node must say which.
                    await membership.FinishAsync(RecoveryBound, ct);
                    _anomalies.AddRange(membership.Anomalies);
                }
                converged = await ConvergeAsync(cluster, kv, ct);
            }
            if (membership is not null)
            {
                membershipStats = membership.Stats;
                var m = membershipStats;
                Log($"membership changes confirmed: {m.ConfirmedTotal} of {m.SentTotal} sent" +
                    $" ({string.Join(", ", MembershipChanges.Kinds.Where(m.Sent.ContainsKey).Select(k => $"{k} {m.Confirmed.GetValueOrDefault(k)}/{m.Sent[k]}"))})" +
                    $"; outcome unknown {m.Unknown} (seen to take effect {m.UnknownTookEffect}), 409 retried {m.Conflicts}, stale answers retried {m.StaleAnswers}, not sent {m.NotSent}");
            }
            confirmed = schedule.Confirmed.ToDictionary();
            planned = schedule.Planned.ToDictionary();
            _errors.InsertRange(0, schedule.Errors);
            Log($"faults confirmed: {schedule.Total} of {planned.Values.Sum()} ({string.Join(", ", planned.OrderBy(p => p.Key).Select(p => $"{p.Key} {confirmed.GetValueOrDefault(p.Key)}/{p.Value}"))})");
        }
        history.Dispose();

        Log($"client operations: {clientOps}; harness probes {_probes}, final reads {finalReads}");
        if (clientOps.Ok < options.MinOps)
            _errors.Add($"the clients completed {clientOps.Ok} operations ok, below the floor of {options.MinOps} (--min-ops): too little was checked");

        try
        {
            var ops = HistoryReader.Read(history.Path);
            var result = LinearizabilityChecker.Check(ops, options.CheckBudget, ct);
            summary = result.Summary;
            var biggest = result.Keys.OrderByDescending(k => k.Operations).FirstOrDefault();
            string verdict = result.Verdict switch { Verdict.Linearizable => "linearizable", Verdict.NotLinearizable => "NOT linearizable", _ => "unknown" };
            Log($"history: {verdict}: {result.Summary}" + (biggest is null ? "" : $"; largest key {biggest.Key}: {biggest.Operations} operations searched"));
            foreach (var v in result.Violations)
                _anomalies.Add($"NOT linearizable on key {v.Key}:\n{v.Explanation}");
            foreach (var k in result.Keys.Where(k => k.Verdict == Verdict.Unknown))
                _unknown.Add($"key {k.Key} ({k.Operations} operations): the checker ran out of its {options.CheckBudget.TotalSeconds:0.###} s budget; not proven linearizable");
        }
        catch (FormatException e)
        {
            _anomalies.Add($"the history does not read: {e.Message}");
        }

        foreach (var a in _anomalies) Log($"ANOMALY: {a}");
        foreach (var u in _unknown) Log($"UNKNOWN: {u}");
        foreach (var e in _errors) Log($"HARNESS ERROR: {e}");
        // A clean run keeps its history and logs but not the databases.
        bool passed = _anomalies.Count == 0 && _unknown.Count == 0 && _errors.Count == 0;
        if (passed)
        {
            try { Directory.Delete(Path.Combine(dir, "data"), recursive: true); } catch (IOException) { }
        }
        Log(passed ? "run passed" : "run FAILED");
        _log = null;
        return new RunResult(index, seed, dir, faultPhase, confirmed, planned, clientOps, _probes, finalReads, summary, served, converged,
            _anomalies.ToList(), _unknown.ToList(), _errors.ToList()) { Membership = membershipStats };
    }

    /// <summary>Writes a fresh value through every node until each has answered ok once (recorded in the
    /// history as its own process and key), or the bound.</summary>
    private async Task<bool> ServesAsync(ChaosCluster cluster, KvClient kv, HistoryLog history, int processBase, TimeSpan bound, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + bound;
        int attempt = 0;
        foreach (var node in cluster.Nodes)
        {
            int process = processBase + node.Id * 100;
            while (true)
            {
                string key = $"probe-{node.Id}", value = $"p{processBase}-{node.Id}-{++attempt}";
                history.Invoke(process, "write", key, value);
                var o = await kv.WriteAsync(node.Url, key, value, ct);
                history.Complete(process, o.Type, "write", key, o.Value, o.Error);
                _probes++;
                if (o.Type == "ok") break;
                if (o.Type == "info") process++;
                if (DateTime.UtcNow > deadline)
                {
                    Log($"node {node.Id} does not serve a write: {o.Error}");
                    return false;
                }
                await Task.Delay(200, ct);
            }
        }
        return true;
    }

    /// <summary>Reads every written key through every node (retrying failures), into the history: each read
    /// must see the latest acknowledged write or something newer. Returns how many reads it made.</summary>
    private async Task<int> FinalReadsAsync(ChaosCluster cluster, KvClient kv, HistoryLog history, List<string> keys, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RecoveryBound;
        int unread = 0, reads = 0;
        foreach (var node in cluster.Nodes)
        {
            int process = 5000 + node.Id;
            foreach (string key in keys)
            {
                while (true)
                {
                    history.Invoke(process, "read", key, null);
                    var o = await kv.ReadAsync(node.Url, key, ct);
                    history.Complete(process, o.Type, "read", key, o.Value, o.Error);
                    reads++;
                    if (o.Type == "ok") break;
                    if (DateTime.UtcNow > deadline) { unread++; break; }
                    await Task.Delay(200, ct);
                }
            }
        }
        if (unread > 0) _anomalies.Add($"{unread} final read(s) failed within {RecoveryBound.TotalSeconds:0} s of healing");
        else Log($"final reads: {keys.Count} keys through {cluster.Nodes.Count} nodes");
        return reads;
    }

    /// <summary>Waits until every node reports the same applied slot and the same digest of its key-value state at that
    /// slot (<c>kv_digest</c>, over every key and value): equal slots and key counts alone would miss a replica whose
    /// values differ. And the same acceptor set in force.</summary>
    private async Task<TimeSpan?> ConvergeAsync(ChaosCluster cluster, KvClient kv, CancellationToken ct)
    {
        var start = _clock.Elapsed;
        var deadline = DateTime.UtcNow + RecoveryBound;
        while (true)
        {
            var statuses = new List<NodeStatus?>();
            foreach (var n in cluster.Nodes) statuses.Add(await kv.StatusAsync(n.Url, TimeSpan.FromSeconds(2), ct));
            string last = string.Join(", ", statuses.Select((s, i) => $"node {i + 1}: " + (s is null
                ? "no answer"
                : $"applied {s.AppliedSlot}, keys {s.Keys}, kv_digest {s.KvDigest ?? "none"} at slot {s.KvAppliedSlot}, " +
                  $"acceptors [{(s.Acceptors is { } a ? string.Join(",", a) : "none")}]")));
            if (Converged(statuses))
            {
                var took = _clock.Elapsed - start;
                Log($"converged: {last}");
                return took;
            }
            if (DateTime.UtcNow > deadline)
            {
                _anomalies.Add($"the nodes did not converge (same applied slot, kv_digest and acceptor set) within {RecoveryBound.TotalSeconds:0} s: {last}");
                return null;
            }
            await Task.Delay(250, ct);
        }
    }

    /// <summary>Every node answered, its store's digest describes the slot its learner applied last, and all name the
    /// same slot, digest and acceptor set in force.</summary>
    public static bool Converged(IReadOnlyList<NodeStatus?> statuses) =>
        statuses.Count > 0 &&
        statuses.All(s => s is { AppliedSlot: not null, KvDigest: not null, Acceptors: not null } && s.KvAppliedSlot == s.AppliedSlot) &&
        statuses.Select(s => (s!.AppliedSlot, s.KvDigest, string.Join(",", s.Acceptors!))).Distinct().Count() == 1;

    private void Log(string line)
    {
        string text = $"[run {index} {_clock.Elapsed.TotalSeconds,6:0.0}s] {line}";
        lock (_logGate)
        {
            _log?.WriteLine(text);
            console.WriteLine(text);
        }
    }
}
