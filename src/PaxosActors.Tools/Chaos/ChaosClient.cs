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
                string? expected = _seen.TryGetValue(key, out var s) && random.NextDouble() < 0.8 ? s : null;
                string value = $"c{index}-{++_seq}";
                history.Invoke(_process, f, key, value, expected);
                KeysWritten.Add(key);
                outcome = await kv.CasAsync(node.Url, key, expected, value, CancellationToken.None);
                if (outcome is { Type: "ok", Value: true }) _seen[key] = value;
            }
            history.Complete(_process, outcome.Type, f, key, outcome.Value, outcome.Error);
            if (outcome.Type == "info") _process += clients;
            if (outcome.Type != "ok")
            {
                try { await Task.Delay(50, stop); } catch (OperationCanceledException) { }
            }
        }
    }
}
