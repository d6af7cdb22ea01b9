namespace PaxosActors.Tools.Chaos;

/// <summary>The kinds of fault a schedule draws from (<c>--faults</c>).</summary>
public static class FaultKinds
{
    public const string Kill = "kill", Pause = "pause", Isolate = "isolate", Split = "split", Combo = "combo", Member = "member";

    /// <summary>Every kind, the default: <c>combo</c> is two of kill, pause and isolate at once on different nodes;
    /// <c>member</c> changes the acceptor set (<see cref="MembershipChanges"/>), concurrently with the others.</summary>
    public static readonly IReadOnlyList<string> All = [Kill, Pause, Isolate, Split, Combo, Member];

    /// <summary>The kinds a summary counts (a combination counts each of its parts).</summary>
    public static readonly IReadOnlyList<string> Counted = [Kill, Pause, Isolate, Split];

    // Of 100 with every kind allowed; a restricted schedule draws among its kinds with these weights.
    internal static int Weight(string kind) => kind switch { Kill => 25, Pause => 20, Isolate => 20, Split => 10, _ => 25 };
}

/// <summary>
/// Injects faults one after another for a given time, every choice (which fault, aimed at the leader or not, which
/// other node, how long) drawn from a seeded <see cref="Random"/>: SIGKILL and restart, SIGSTOP and SIGCONT,
/// isolating a node, splitting the cluster, and two of them at once. The leader is the favourite target. Each fault is
/// undone before the next starts, after a short quiet spell. Membership changes (<see cref="MembershipChanges"/>, with
/// their own seeded stream) run alongside, one at a time, so the acceptor set changes while nodes are down, paused or
/// cut off.
/// </summary>
/// <remarks>
/// A fault counts only once the cluster shows it took effect: a SIGKILL once the process has exited, a SIGSTOP once
/// /proc/PID/stat says stopped (T), a partition once every node it was sent to answered that its transport applied the
/// block. A fault that cannot be confirmed (a block or heal a node refuses, a signal without effect) is a harness
/// error: the run fails, since what it checked is not what it claims to have tested.
/// The draws do not depend on what the cluster answers, so a seed replays the same choices; which node is the leader
/// when a fault aims at "the leader" is up to the cluster.
/// </remarks>
public sealed class FaultSchedule
{
    private readonly ChaosCluster _cluster;
    private readonly Random _random;
    private readonly Action<string> _log;
    private readonly IReadOnlyList<string> _kinds;
    private readonly int? _target;
    private readonly MembershipChanges? _membership;
    private readonly Dictionary<string, int> _confirmed = new();
    private readonly Dictionary<string, int> _planned = new();
    private readonly List<string> _errors = new();

    /// <param name="kinds">What to draw from (<see cref="FaultKinds.All"/> by default).</param>
    /// <param name="target">Aim every fault at this node (a combination's first part); null: the leader 60% of the
    /// time, else a random node. Membership changes choose their own.</param>
    /// <param name="membership">The membership changes to run alongside when <paramref name="kinds"/> has
    /// <see cref="FaultKinds.Member"/>; null: none.</param>
    public FaultSchedule(ChaosCluster cluster, Random random, Action<string> log, IReadOnlyList<string>? kinds = null, int? target = null,
        MembershipChanges? membership = null)
    {
        _cluster = cluster;
        _random = random;
        _log = log;
        // The membership track is not drawn here: the other kinds' draws are the same with or without it.
        _kinds = (kinds is { Count: > 0 } ? kinds : FaultKinds.All).Where(k => k != FaultKinds.Member).ToList();
        _target = target;
        _membership = membership;
    }

    /// <summary>Faults the schedule set out to inject, by kind (a combination counts each of its parts); a fault whose
    /// target was already down (a node whose restart failed) is skipped and not planned.</summary>
    public IReadOnlyDictionary<string, int> Planned => _planned;

    /// <summary>Confirmed faults so far, by kind (a combination counts each of its parts).</summary>
    public IReadOnlyDictionary<string, int> Confirmed => _confirmed;

    public int Total => _confirmed.Values.Sum();

    /// <summary>Faults that could not be confirmed or undone: each fails the run.</summary>
    public IReadOnlyList<string> Errors
    {
        get
        {
            lock (_errors) return _errors.ToList();
        }
    }

    private sealed record Plan(string Kind, int Target, TimeSpan Span, IReadOnlyList<int> Side);

    /// <summary>Faults until <paramref name="phase"/> is over, each undone by then; a membership change in progress then
    /// runs to its answer.</summary>
    public async Task RunAsync(TimeSpan phase, CancellationToken ct)
    {
        var end = DateTime.UtcNow + phase;
        var membership = _membership?.RunAsync(end, ct) ?? Task.CompletedTask;
        try
        {
            await RunFaultsAsync(end, ct);
        }
        finally
        {
            await membership;
        }
    }

    private async Task RunFaultsAsync(DateTime end, CancellationToken ct)
    {
        if (_kinds.Count == 0)
        {
            var rest = end - DateTime.UtcNow;
            if (rest > TimeSpan.Zero) await Task.Delay(rest, ct);
            return;
        }
        while (DateTime.UtcNow + TimeSpan.FromSeconds(2) < end && !ct.IsCancellationRequested)
        {
            await Task.Delay(Millis(1000, 3000), ct);
            var left = end - DateTime.UtcNow;
            if (left < TimeSpan.FromSeconds(1)) break;
            int? leader = await _cluster.LeaderAsync(ct);
            string kind = DrawKind();
            if (kind != FaultKinds.Combo)
            {
                await RunAsync([Draw(kind, Target(leader, []), Cap(left))], leader, ct);
            }
            else
            {
                // Two faults at once on different nodes, e.g. the leader paused while a follower is killed.
                var parts = new[] { FaultKinds.Kill, FaultKinds.Pause, FaultKinds.Isolate }.Where(_kinds.Contains).ToArray();
                if (parts.Length == 0) parts = [FaultKinds.Kill, FaultKinds.Pause, FaultKinds.Isolate];
                string first = parts[_random.Next(parts.Length)], second = parts[_random.Next(parts.Length)];
                int a = Target(leader, []);
                int b = Target(null, [a]);
                var plans = new[] { Draw(first, a, Cap(left)), Draw(second, b, Cap(left)) };
                _log($"combination: {first} node {a} + {second} node {b}");
                await RunAsync(plans, leader, ct);
            }
        }
    }

    private string DrawKind()
    {
        int roll = _random.Next(_kinds.Sum(FaultKinds.Weight));
        foreach (var k in _kinds)
        {
            roll -= FaultKinds.Weight(k);
            if (roll < 0) return k;
        }
        return _kinds[^1];
    }

    /// <summary>Everything about one fault that is random, drawn now, whatever the cluster does next.</summary>
    private Plan Draw(string kind, int target, TimeSpan cap)
    {
        // kill: down for 0.3-5 s. pause: up to 12 s, past the failure detector (3 s) and the split brain resolver
        // (7 s more), so the paused node is sometimes downed and must come back as a new incarnation.
        var span = Min(kind switch
        {
            FaultKinds.Kill => Millis(300, 5000),
            FaultKinds.Pause => Millis(500, 12000),
            _ => Millis(1000, 12000),
        }, cap);
        IReadOnlyList<int> side = [target];
        if (kind == FaultKinds.Split)
        {
            // A random minority with the target in it against the rest.
            var ids = _cluster.Nodes.Select(n => n.Id).Where(i => i != target).OrderBy(_ => _random.Next()).ToList();
            int size = 1 + _random.Next(Math.Max(1, (_cluster.Nodes.Count - 1) / 2));
            side = ids.Take(size - 1).Append(target).OrderBy(i => i).ToList();
        }
        return new Plan(kind, target, span, side);
    }

    /// <summary>Starts the faults (partitions first, so no block is ever sent to a node that is being killed or paused
    /// at that moment), holds each for its span, then undoes it; a combination also heals every partition at its end.</summary>
    private async Task RunAsync(IReadOnlyList<Plan> plans, int? leader, CancellationToken ct)
    {
        var started = new List<(Plan Plan, Func<Task> Undo)>();
        foreach (var plan in plans.OrderBy(p => p.Kind is FaultKinds.Isolate or FaultKinds.Split ? 0 : 1))
            started.Add((plan, await BeginAsync(plan, leader, ct)));
        await Task.WhenAll(started.Select(async s =>
        {
            await Task.Delay(s.Plan.Span, ct);
            await s.Undo();
        }));
        if (plans.Count > 1 && plans.Any(p => p.Kind is FaultKinds.Isolate or FaultKinds.Split))
            AddErrors(await _cluster.HealPartitionsAsync(ct));
    }

    /// <summary>Injects one fault and counts it if confirmed; returns how to undo it (also when it was not confirmed:
    /// a partition may hold on some nodes).</summary>
    private async Task<Func<Task>> BeginAsync(Plan plan, int? leader, CancellationToken ct)
    {
        var node = _cluster[plan.Target];
        string who = $"node {plan.Target}{(plan.Target == leader ? " (leader)" : "")}";
        string span = $"{plan.Span.TotalSeconds:0.0} s";
        switch (plan.Kind)
        {
            case FaultKinds.Kill:
            {
                if (!node.Running)
                {
                    _log($"no SIGKILL: {who} is not running");
                    return () => Task.CompletedTask;
                }
                CountPlanned(plan.Kind);
                node.Kill();
                if (node.Running)
                {
                    Error($"SIGKILL {who}: the process has not exited within 10 s");
                    return () => Task.CompletedTask;
                }
                Confirm(plan.Kind);
                _log($"SIGKILL {who}: exited (code {(node.Process is { HasExited: true } p ? p.ExitCode : "?")}); restart in {span}");
                return () =>
                {
                    _log(_cluster.Restart(node) ? $"restarted node {plan.Target}" : $"node {plan.Target} did not restart: a port of its is taken (see its log)");
                    return Task.CompletedTask;
                };
            }
            case FaultKinds.Pause:
            {
                if (!node.Running || node.Paused)
                {
                    _log($"no SIGSTOP: {who} is {(node.Paused ? "paused already" : "not running")}");
                    return () => Task.CompletedTask;
                }
                CountPlanned(plan.Kind);
                if (!node.Pause())
                {
                    Error($"SIGSTOP {who}: the signal could not be sent");
                    return () => Task.CompletedTask;
                }
                if (!await ChaosCluster.WaitOsStateAsync(node, s => s is 'T', ct))
                    Error($"SIGSTOP {who}: the process was not seen stopped within {ChaosCluster.SignalBound.TotalSeconds:0} s (state {node.OsState?.ToString() ?? "gone"})");
                else
                {
                    Confirm(plan.Kind);
                    _log($"SIGSTOP {who}: stopped (state T) for {span}");
                }
                return async () =>
                {
                    node.Resume();
                    if (!await ChaosCluster.WaitOsStateAsync(node, s => s is not 'T', ct))
                        Error($"SIGCONT node {plan.Target}: the process is still stopped {ChaosCluster.SignalBound.TotalSeconds:0} s later");
                    else _log($"SIGCONT node {plan.Target}: running");
                };
            }
            default:
            {
                string cut = plan.Kind == FaultKinds.Isolate ? who : $"nodes {string.Join(",", plan.Side)}";
                CountPlanned(plan.Kind);
                var outcome = await _cluster.PartitionAsync(plan.Side, ct);
                if (outcome.Holds)
                {
                    Confirm(plan.Kind);
                    _log($"partition: {cut} | the rest, for {span}: confirmed" +
                         (outcome.Untold.Count > 0 ? $" (nodes {string.Join(",", outcome.Untold)} paused or down: cut by the other end)" : ""));
                }
                else
                {
                    AddErrors(outcome.Errors);
                    if (outcome.Errors.Count == 0)
                        _log($"partition: {cut} | the rest: not counted, no live end cut {string.Join(", ", outcome.Open)}");
                }
                return async () =>
                {
                    AddErrors(await _cluster.HealPartitionsAsync(ct));
                    _log("partition healed");
                };
            }
        }
    }

    private void CountPlanned(string kind) => _planned[kind] = _planned.GetValueOrDefault(kind) + 1;

    private void Confirm(string kind) => _confirmed[kind] = _confirmed.GetValueOrDefault(kind) + 1;

    private void Error(string error)
    {
        lock (_errors) _errors.Add(error);
        _log($"HARNESS ERROR: {error}");
    }

    private void AddErrors(IEnumerable<string> errors)
    {
        foreach (var e in errors) Error(e);
    }

    /// <summary>The fixed target if set (and allowed), else the leader 60% of the time (when known and allowed), else a
    /// random node not excluded. Draws the same numbers whatever the leader, so the stream of choices replays.</summary>
    private int Target(int? leader, int[] exclude)
    {
        bool aimAtLeader = _random.NextDouble() < 0.6;
        var choices = _cluster.Nodes.Select(n => n.Id).Where(i => !exclude.Contains(i)).ToList();
        int pick = choices[_random.Next(choices.Count)];
        if (_target is { } t && !exclude.Contains(t)) return t;
        if (leader is { } l && !exclude.Contains(l) && aimAtLeader) return l;
        return pick;
    }

    private TimeSpan Millis(int min, int max) => TimeSpan.FromMilliseconds(_random.Next(min, max));

    private static TimeSpan Cap(TimeSpan left) => left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
