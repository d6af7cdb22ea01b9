namespace PaxosActors.Tools.Chaos;

/// <summary>
/// Injects faults one after another for a given time, every choice (which fault, which node, how long)
/// drawn from a seeded <see cref="Random"/>: SIGKILL and restart, SIGSTOP and SIGCONT, isolating a node,
/// splitting the cluster, and two of them at once. The leader is the favourite target. Each fault is
/// undone before the next starts, after a short quiet spell.
/// </summary>
public sealed class FaultSchedule(ChaosCluster cluster, Random random, Action<string> log)
{
    private readonly Dictionary<string, int> _counts = new();

    /// <summary>Faults injected so far, by kind (a combination counts each of its parts).</summary>
    public IReadOnlyDictionary<string, int> Counts => _counts;

    public int Total => _counts.Values.Sum();

    public async Task RunAsync(TimeSpan phase, CancellationToken ct)
    {
        var end = DateTime.UtcNow + phase;
        while (DateTime.UtcNow + TimeSpan.FromSeconds(2) < end && !ct.IsCancellationRequested)
        {
            await Task.Delay(Millis(1000, 3000), ct);
            var left = end - DateTime.UtcNow;
            if (left < TimeSpan.FromSeconds(1)) break;
            int? leader = await cluster.LeaderAsync(ct);
            int roll = random.Next(100);
            if (roll < 75)
            {
                string kind = roll < 25 ? "kill" : roll < 45 ? "pause" : roll < 65 ? "isolate" : "split";
                int target = Target(leader, []);
                await InjectAsync(kind, target, leader, Cap(left), ct);
            }
            else
            {
                // Two faults at once on different nodes, e.g. the leader paused while a follower is killed.
                string[] kinds = ["kill", "pause", "isolate"];
                string first = kinds[random.Next(kinds.Length)], second = kinds[random.Next(kinds.Length)];
                int a = Target(leader, []);
                int b = Target(null, [a]);
                log($"combination: {first} node {a} + {second} node {b}");
                await Task.WhenAll(InjectAsync(first, a, leader, Cap(left), ct), InjectAsync(second, b, leader, Cap(left), ct));
                await cluster.HealPartitionsAsync(ct);
            }
        }
    }

    private async Task InjectAsync(string kind, int target, int? leader, TimeSpan cap, CancellationToken ct)
    {
        var node = cluster[target];
        string who = $"node {target}{(target == leader ? " (leader)" : "")}";
        _counts[kind] = _counts.GetValueOrDefault(kind) + 1;
        switch (kind)
        {
            case "kill":
            {
                var down = Min(Millis(300, 5000), cap);
                log($"SIGKILL {who}; restart in {down.TotalSeconds:0.0} s");
                node.Kill();
                await Task.Delay(down, ct);
                log(cluster.Restart(node) ? $"restarted node {target}" : $"node {target} did not restart: a port of its is taken (see its log)");
                break;
            }
            case "pause":
            {
                // Up to 12 s: past the failure detector (3 s) and the split brain resolver (7 s more), so the
                // paused node is sometimes downed and must come back as a new incarnation.
                var pause = Min(Millis(500, 12000), cap);
                log($"SIGSTOP {who} for {pause.TotalSeconds:0.0} s");
                node.Pause();
                await Task.Delay(pause, ct);
                node.Resume();
                log($"SIGCONT node {target}");
                break;
            }
            case "isolate":
            {
                var span = Min(Millis(1000, 12000), cap);
                log($"partition: {who} | the rest, for {span.TotalSeconds:0.0} s");
                await cluster.PartitionAsync([target], ct);
                await Task.Delay(span, ct);
                await cluster.HealPartitionsAsync(ct);
                log("partition healed");
                break;
            }
            default: // split: a random minority (with the target in it) against the rest
            {
                var ids = cluster.Nodes.Select(n => n.Id).Where(i => i != target).OrderBy(_ => random.Next()).ToList();
                int size = 1 + random.Next(Math.Max(1, (cluster.Nodes.Count - 1) / 2));
                var side = ids.Take(size - 1).Append(target).OrderBy(i => i).ToList();
                var span = Min(Millis(1000, 12000), cap);
                log($"partition: nodes {string.Join(",", side)} | the rest, for {span.TotalSeconds:0.0} s");
                await cluster.PartitionAsync(side, ct);
                await Task.Delay(span, ct);
                await cluster.HealPartitionsAsync(ct);
                log("partition healed");
                break;
            }
        }
    }

    /// <summary>The leader 60% of the time (when known and allowed), else a random node not excluded.</summary>
    private int Target(int? leader, int[] exclude)
    {
        if (leader is { } l && !exclude.Contains(l) && random.NextDouble() < 0.6) return l;
        var choices = cluster.Nodes.Select(n => n.Id).Where(i => !exclude.Contains(i)).ToList();
        return choices[random.Next(choices.Count)];
    }

    private TimeSpan Millis(int min, int max) => TimeSpan.FromMilliseconds(random.Next(min, max));

    private static TimeSpan Cap(TimeSpan left) => left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
