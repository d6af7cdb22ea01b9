using PaxosActors.Node.Launch;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// One closed-loop client: picks a node and an operation at random (writes of unique values, reads, and
/// compare-and-set from the last value it saw), records each in the history. After an operation with an
/// unknown outcome it continues as a new process (the Jepsen rule: a process has one operation open at most).
/// </summary>
public sealed class ChaosClient(int index, int clients, IReadOnlyList<NodeProcess> nodes, IReadOnlyList<string> keys,
    KvClient kv, HistoryLog history, Random random)
{
    private readonly Dictionary<string, string?> _seen = new();
    private int _process = -1;
    private int _seq;

    public HashSet<string> KeysWritten { get; } = new();

    /// <summary>This client's completed operations by outcome (ok, fail, info).</summary>
    public OpCounts Counts { get; private set; }

    public async Task RunAsync(CancellationToken stop)
    {
        if (_process < 0) _process = index;
        while (!stop.IsCancellationRequested)
        {
            var node = nodes[random.Next(nodes.Count)];
            string key = keys[random.Next(keys.Count)];
            double roll = random.NextDouble();
            Outcome outcome;
            string f;
            // Each operation runs to its own timeout even when the run stops, so its outcome is known.
            if (roll < 0.45)
            {
                f = "write";
                string value = $"w{index}-{++_seq}";
                history.Invoke(_process, f, key, value);
                KeysWritten.Add(key);
                outcome = await kv.WriteAsync(node.Url, key, value, CancellationToken.None);
                if (outcome.Type == "ok") _seen[key] = value;
            }
            else if (roll < 0.85)
            {
                f = "read";
                history.Invoke(_process, f, key, null);
                outcome = await kv.ReadAsync(node.Url, key, CancellationToken.None);
                if (outcome.Type == "ok") _seen[key] = (string?)outcome.Value;
            }
            else
            {
                f = "cas";
                // Drawn whether or not a value was seen, so the stream of choices does not depend on the answers.
                bool fromSeen = random.NextDouble() < 0.8;
                string? expected = fromSeen && _seen.TryGetValue(key, out var s) ? s : null;
                string value = $"c{index}-{++_seq}";
                history.Invoke(_process, f, key, value, expected);
                KeysWritten.Add(key);
                outcome = await kv.CasAsync(node.Url, key, expected, value, CancellationToken.None);
                if (outcome is { Type: "ok", Value: true }) _seen[key] = value;
            }
            history.Complete(_process, outcome.Type, f, key, outcome.Value, outcome.Error);
            Counts = Counts.Add(outcome.Type);
            if (outcome.Type == "info") _process += clients;
            if (outcome.Type != "ok")
            {
                try { await Task.Delay(50, stop); } catch (OperationCanceledException) { }
            }
        }
    }
}

/// <summary>Completed operations by outcome: ok, fail (certainly not applied), info (unknown).</summary>
public readonly record struct OpCounts(int Ok, int Fail, int Info)
{
    public int Total => Ok + Fail + Info;

    public OpCounts Add(string type) => type switch
    {
        "ok" => this with { Ok = Ok + 1 },
        "fail" => this with { Fail = Fail + 1 },
        _ => this with { Info = Info + 1 },
    };

    public static OpCounts operator +(OpCounts a, OpCounts b) => new(a.Ok + b.Ok, a.Fail + b.Fail, a.Info + b.Info);

    public override string ToString() => $"{Total} ({Ok} ok, {Fail} fail, {Info} info)";
}
