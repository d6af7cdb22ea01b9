using PaxosActors.Node.Launch;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// The membership fault (<c>--faults member</c>): changes of the acceptor set through a random live node's
/// <c>/admin/members</c>, one at a time, while the other faults (kills, pauses, partitions) go on. Two operations, drawn
/// from their own seeded <see cref="Random"/>:
/// <list type="bullet">
/// <item><b>remove</b> an acceptor (the leader 40% of the time), hold, and <b>re-add</b> it;</item>
/// <item><b>replace</b> an acceptor by a node outside the set (a spare, <c>--spares</c>): add it, then remove the
/// acceptor; hold, and <b>swap back</b>: add the acceptor again, then remove the other.</item>
/// </list>
/// A change never leaves fewer acceptors than a majority of the first set's count. Before each change the harness reads
/// <c>/admin/members</c> on every live node and waits until the most advanced one shows no change pending; the change is
/// decided from that set, and sent through a random live node that sees it too. Answers: 200 with the expected set in force is a confirmed change (only those count); 409 is
/// retried; a 503 after proposing, or no answer, is an unknown outcome: the change may take effect now or later. The
/// operation then goes on from what the set is. When the fault phase ends no new change is sent and an operation still
/// holding leaves the set as it is; the final checks run on it.
/// </summary>
/// <remarks>Every membership a node reports is checked against the harness's own changes (<see cref="MembershipLedger"/>):
/// one nothing explains is an anomaly.</remarks>
public sealed class MembershipChanges
{
    /// <summary>How long the harness waits for a view of the membership with no change pending.</summary>
    public static readonly TimeSpan SettleBound = TimeSpan.FromSeconds(30);

    /// <summary>How long one change is retried (409, a node that could not take it) before the harness gives up on it.</summary>
    public static readonly TimeSpan ChangeBound = TimeSpan.FromSeconds(60);

    public const string Remove = "remove", ReAdd = "re-add", ReplaceAdd = "replace-add", ReplaceRemove = "replace-remove",
        SwapBackAdd = "swap-back-add", SwapBackRemove = "swap-back-remove";

    /// <summary>The kinds of change, in the order a summary lists them.</summary>
    public static readonly IReadOnlyList<string> Kinds = [Remove, ReAdd, ReplaceAdd, ReplaceRemove, SwapBackAdd, SwapBackRemove];

    private readonly ChaosCluster _cluster;
    private readonly MembersClient _members;
    private readonly Random _random;
    private readonly Action<string> _log;
    private readonly int _floor;
    private readonly Dictionary<string, int> _sent = new();
    private readonly Dictionary<string, int> _confirmed = new();
    private readonly MembershipLedger _ledger;
    private int _unknown, _conflicts, _notSent, _stale;

    /// <param name="random">This track's own stream (so the other faults' draws are those of a run without it).</param>
    public MembershipChanges(ChaosCluster cluster, MembersClient members, Random random, Action<string> log)
    {
        _cluster = cluster;
        _members = members;
        _random = random;
        _log = log;
        _floor = cluster.FirstAcceptors.Count / 2 + 1;
        _ledger = new MembershipLedger(log);
    }

    private MembersView? Known => _ledger.Known;

    /// <summary>What the changes did, once <see cref="RunAsync"/> and <see cref="FinishAsync"/> are done.</summary>
    public MembershipStats Stats => new(_sent.ToDictionary(), _confirmed.ToDictionary(), _unknown, _ledger.TookEffectLater, _conflicts,
        _notSent, _ledger.Outstanding, Known?.Acceptors) { StaleAnswers = _stale };

    /// <summary>Acceptor sets in force that no change of the harness explains (<see cref="MembershipLedger"/>), and a
    /// cluster that did not settle on one after healing.</summary>
    public IReadOnlyList<string> Anomalies => _ledger.Anomalies;

    /// <summary>Operations one after another until <paramref name="end"/>; an operation's change in progress then runs
    /// to its answer, and nothing more is sent.</summary>
    public async Task RunAsync(DateTime end, CancellationToken ct)
    {
        while (DateTime.UtcNow + TimeSpan.FromSeconds(3) < end && !ct.IsCancellationRequested)
        {
            // Everything random about the operation, drawn now, whatever the cluster answers next.
            var gap = Millis(1000, 4000);
            bool replace = _random.NextDouble() < 0.5;
            bool aimAtLeader = _random.NextDouble() < 0.4;
            int pickAcceptor = _random.Next(1000), pickOutsider = _random.Next(1000);
            int[] via = [_random.Next(1000), _random.Next(1000), _random.Next(1000), _random.Next(1000)];
            var inner = Millis(300, 3000);
            var hold = Millis(2000, 12000);

            await Task.Delay(gap, ct);
            if (DateTime.UtcNow + TimeSpan.FromSeconds(2) > end) break;
            int? leader = await _cluster.LeaderAsync(ct);
            if (await SettledAsync(ct) is not { } now)
            {
                _log("membership: no view of the acceptor set without a change pending within " +
                     $"{SettleBound.TotalSeconds:0} s; no change this time");
                continue;
            }
            var outsiders = _cluster.Nodes.Select(n => n.Id).Where(id => !now.View.Acceptors.Contains(id)).ToList();
            if (replace && outsiders.Count > 0)
            {
                int incoming = outsiders[pickOutsider % outsiders.Count];
                _log($"membership: replace an acceptor of [{MembersView.Ids(now.View.Acceptors)}] by node {incoming}");
                await ChangeAsync(ReplaceAdd, add: true, incoming, via[0], end, ct);
                if (Known?.Acceptors.Contains(incoming) != true) continue;
                await Task.Delay(inner, ct);
                int outgoing = Choose(Known.Acceptors.Where(a => a != incoming).ToList(), leader, aimAtLeader, pickAcceptor);
                await ChangeAsync(ReplaceRemove, add: false, outgoing, via[1], end, ct);
                if (!await HoldAsync(hold, end, ct)) break;
                if (Known?.Acceptors.Contains(outgoing) == false)
                    await ChangeAsync(SwapBackAdd, add: true, outgoing, via[2], end, ct);
                if (Known?.Acceptors.Contains(outgoing) == true && Known.Acceptors.Contains(incoming))
                    await ChangeAsync(SwapBackRemove, add: false, incoming, via[3], end, ct);
            }
            else
            {
                if (now.View.Acceptors.Count <= _floor)
                {
                    _log($"membership: no removal from [{MembersView.Ids(now.View.Acceptors)}]: it would leave fewer than {_floor} acceptors");
                    continue;
                }
                int outgoing = Choose(now.View.Acceptors, leader, aimAtLeader, pickAcceptor);
                await ChangeAsync(Remove, add: false, outgoing, via[0], end, ct);
                if (!await HoldAsync(hold, end, ct)) break;
                if (Known?.Acceptors.Contains(outgoing) == false)
                    await ChangeAsync(ReAdd, add: true, outgoing, via[1], end, ct);
            }
        }
    }

    /// <summary>After healing: every node must come to the same acceptor set with no change pending (an unknown outcome
    /// settles one way or the other); the set must be one the harness's changes explain, with at least a majority of the
    /// first set's count. Returns the set, or null (an anomaly) if the nodes did not agree within <paramref name="bound"/>.</summary>
    public async Task<IReadOnlyList<int>?> FinishAsync(TimeSpan bound, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + bound;
        string last = "";
        while (true)
        {
            var views = new List<(int Id, MembersView? View)>();
            foreach (var n in _cluster.Nodes) views.Add((n.Id, await _members.GetAsync(n.Url, TimeSpan.FromSeconds(3), ct)));
            last = string.Join("; ", views.Select(v => $"node {v.Id}: {v.View?.ToString() ?? "no answer"}"));
            if (views.All(v => v.View is { Pending: false }) &&
                views.Select(v => (v.View!.FromSlot, MembersView.Ids(v.View.Acceptors))).Distinct().Count() == 1 &&
                (Known is null || views[0].View!.FromSlot >= Known.FromSlot))
            {
                var view = views[0].View!;
                _ledger.Observe(view, "after healing");
                if (view.Acceptors.Count < _floor)
                    _ledger.Anomaly($"{view.Acceptors.Count} acceptors in force after healing ([{MembersView.Ids(view.Acceptors)}]), " +
                                   $"fewer than the {_floor} the harness keeps");
                _log($"membership after healing: every node has acceptors [{MembersView.Ids(view.Acceptors)}] in force from slot {view.FromSlot}" +
                     (_ledger.Outstanding > 0 ? $" ({_ledger.Outstanding} change(s) of unknown outcome did not take effect)" : ""));
                return view.Acceptors;
            }
            if (DateTime.UtcNow > deadline)
            {
                _ledger.Anomaly($"the nodes did not agree on the acceptor set with no change pending within {bound.TotalSeconds:0} s of healing: {last}");
                return null;
            }
            await Task.Delay(500, ct);
        }
    }

    /// <summary>One change, retried on 409 and through another node when one could not take it, until
    /// <see cref="ChangeBound"/>; decided anew from a settled view before each attempt.</summary>
    private async Task ChangeAsync(string kind, bool add, int id, int viaDraw, DateTime end, CancellationToken ct)
    {
        string verb = add ? "add" : "remove";
        var deadline = DateTime.UtcNow + ChangeBound;
        bool counted = false;
        for (int attempt = 0; ; attempt++)
        {
            if (DateTime.UtcNow > end || DateTime.UtcNow > deadline)
            {
                _notSent++;
                _log($"membership: {kind}: {verb} node {id} not sent: " + (DateTime.UtcNow > end ? "the fault phase is over" : $"given up after {ChangeBound.TotalSeconds:0} s"));
                return;
            }
            if (await SettledAsync(ct) is not { } now)
            {
                _notSent++;
                _log($"membership: {kind}: {verb} node {id} not sent: no view without a change pending within {SettleBound.TotalSeconds:0} s");
                return;
            }
            var before = now.View.Acceptors;
            if (add == before.Contains(id))
            {
                _log($"membership: {kind}: node {id} is {(add ? "already" : "no longer")} an acceptor ([{MembersView.Ids(before)}]): nothing to do");
                return;
            }
            if (!add && before.Count - 1 < _floor)
            {
                _notSent++;
                _log($"membership: {kind}: not removing node {id} from [{MembersView.Ids(before)}]: it would leave fewer than {_floor} acceptors");
                return;
            }
            var expected = (add ? before.Append(id) : before.Where(a => a != id)).Order().ToList();
            var node = now.Responders[(viaDraw + attempt) % now.Responders.Count];
            if (!counted)
            {
                _sent[kind] = _sent.GetValueOrDefault(kind) + 1;
                counted = true;
            }
            _log($"membership: {kind}: {verb} node {id} through node {node.Id}: [{MembersView.Ids(before)}] -> [{MembersView.Ids(expected)}]");
            var started = DateTime.UtcNow;
            var outcome = await _members.ChangeAsync(node.Url, add, id, ct);
            string took = $"{(DateTime.UtcNow - started).TotalSeconds:0.0} s";
            switch (outcome.Answer)
            {
                case ChangeAnswer.InForce:
                {
                    var view = outcome.View!;
                    if (view.FromSlot < now.View.FromSlot)
                    {
                        // "Already so" from a node whose learner is behind: nothing was proposed, nothing is in force.
                        _stale++;
                        _log($"membership: {kind}: STALE ANSWER: 200 after {took} from node {node.Id}, whose view is behind the log: {view} " +
                             $"(the harness read [{MembersView.Ids(before)}] from slot {now.View.FromSlot}); not a confirmation, trying again");
                        await Task.Delay(500, ct);
                        continue;
                    }
                    if (!view.Pending && view.Acceptors.SequenceEqual(expected) && view.FromSlot > now.View.FromSlot)
                    {
                        _confirmed[kind] = _confirmed.GetValueOrDefault(kind) + 1;
                        _ledger.Confirmed(view);
                        _log($"membership: {kind}: confirmed after {took}: acceptors [{MembersView.Ids(view.Acceptors)}] in force from slot {view.FromSlot}");
                    }
                    else
                    {
                        _log($"membership: {kind}: 200 after {took}, but not the set asked for: {view} (expected [{MembersView.Ids(expected)}])");
                        _ledger.Unexpected(before, add, id, view, $"{verb} node {id} through node {node.Id}");
                    }
                    return;
                }
                case ChangeAnswer.Conflict:
                    _conflicts++;
                    _log($"membership: {kind}: 409 after {took} ({outcome.Text}); retrying");
                    await Task.Delay(1000, ct);
                    continue;
                case ChangeAnswer.NotAttempted:
                    _log($"membership: {kind}: node {node.Id} did not take it ({outcome.Text}); another node");
                    await Task.Delay(500, ct);
                    continue;
                case ChangeAnswer.Rejected:
                    // The settled view said otherwise: a node answering from a view behind the log (the next attempt reads
                    // the set again, and reconciles it).
                    _stale++;
                    _log($"membership: {kind}: STALE ANSWER: {outcome.Status} after {took} from node {node.Id} ({outcome.Text}), " +
                         $"though the harness read [{MembersView.Ids(before)}] from slot {now.View.FromSlot}; trying again");
                    await Task.Delay(1000, ct);
                    continue;
                default:
                {
                    _unknown++;
                    string what = $"{verb} node {id} ([{MembersView.Ids(before)}] -> [{MembersView.Ids(expected)}])";
                    _ledger.Unknown(add, id, what);
                    _log($"membership: {kind}: outcome unknown after {took}: {(outcome.Status > 0 ? $"{outcome.Status} " : "")}{outcome.Text}");
                    if (await SettledAsync(ct) is { } after)
                        _log($"membership: {kind}: now {after.View}" + (after.View.Acceptors.SequenceEqual(expected) ? " (it took effect)" : " (not in force)"));
                    return;
                }
            }
        }
    }

    /// <summary>A view with no change pending, from the most advanced of the live nodes (running, not paused) that
    /// answer, at least as recent as the last change the harness knows in force; and the live nodes that see that same
    /// set in force with no change pending (a change goes through one of them: a node computes the change from the set
    /// it sees, so one whose learner is behind could compute it from an older, smaller set, and leave fewer acceptors
    /// than the harness allows). Reconciled with what the harness knows. Null if none within <see cref="SettleBound"/>.</summary>
    private async Task<(MembersView View, IReadOnlyList<NodeProcess> Responders)?> SettledAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + SettleBound;
        while (true)
        {
            var answers = new List<(NodeProcess Node, MembersView View)>();
            foreach (var n in _cluster.Nodes.Where(n => n.Running && !n.Paused))
                if (await _members.GetAsync(n.Url, TimeSpan.FromSeconds(3), ct) is { } v)
                    answers.Add((n, v));
            if (answers.Count > 0)
            {
                var (most, best) = answers.MaxBy(a => a.View.AppliedSlot);
                if (!best.Pending && (Known is null || best.FromSlot >= Known.FromSlot))
                {
                    _ledger.Observe(best, $"/admin/members of node {most.Id}");
                    return (best, answers.Where(a => !a.View.Pending && a.View.FromSlot == best.FromSlot).Select(a => a.Node).ToList());
                }
            }
            if (DateTime.UtcNow > deadline) return null;
            await Task.Delay(500, ct);
        }
    }

    /// <summary>Holds an operation's middle for <paramref name="hold"/>, or until the fault phase ends; false if it ended.</summary>
    private static async Task<bool> HoldAsync(TimeSpan hold, DateTime end, CancellationToken ct)
    {
        var left = end - DateTime.UtcNow;
        if (left <= TimeSpan.Zero) return false;
        await Task.Delay(hold < left ? hold : left, ct);
        return DateTime.UtcNow + TimeSpan.FromSeconds(1) < end;
    }

    /// <summary>The leader if aimed at (and a candidate), else the candidate the draw picks.</summary>
    private static int Choose(IReadOnlyList<int> candidates, int? leader, bool aimAtLeader, int pick) =>
        aimAtLeader && leader is { } l && candidates.Contains(l) ? l : candidates[pick % candidates.Count];

    private TimeSpan Millis(int min, int max) => TimeSpan.FromMilliseconds(_random.Next(min, max));
}

/// <summary>What a run's membership changes did: changes sent and confirmed (200 with the set asked for in force), by kind;
/// outcomes unknown (and how many of those were later seen to take effect), 409s retried, changes not sent (the phase
/// ended, the set could not be read without a change pending, or it was retried for <see cref="MembershipChanges.ChangeBound"/>);
/// unknown outcomes never seen to take effect; the set the harness knew last (after healing: the one every node agreed on).</summary>
public sealed record MembershipStats(
    IReadOnlyDictionary<string, int> Sent, IReadOnlyDictionary<string, int> Confirmed, int Unknown, int UnknownTookEffect,
    int Conflicts, int NotSent, int UnknownOutstanding, IReadOnlyList<int>? LastAcceptors)
{
    public static readonly MembershipStats None = new(new Dictionary<string, int>(), new Dictionary<string, int>(), 0, 0, 0, 0, 0, null);

    public int SentTotal => Sent.Values.Sum();

    public int ConfirmedTotal => Confirmed.Values.Sum();

    /// <summary>Answers from a node whose view was behind the log (a 200 "already so" from an older set, a 404 or 400 for
    /// a set it has not learned yet): not confirmations, the change is tried again.</summary>
    public int StaleAnswers { get; init; }

    public static MembershipStats operator +(MembershipStats a, MembershipStats b) => new(
        Sum(a.Sent, b.Sent), Sum(a.Confirmed, b.Confirmed), a.Unknown + b.Unknown, a.UnknownTookEffect + b.UnknownTookEffect,
        a.Conflicts + b.Conflicts, a.NotSent + b.NotSent, a.UnknownOutstanding + b.UnknownOutstanding, null)
    {
        StaleAnswers = a.StaleAnswers + b.StaleAnswers,
    };

    private static Dictionary<string, int> Sum(IReadOnlyDictionary<string, int> a, IReadOnlyDictionary<string, int> b) =>
        a.Concat(b).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
}
