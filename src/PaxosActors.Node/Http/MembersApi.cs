using System.Text.Json.Serialization;
using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;

namespace PaxosActors.Node.Http;

/// <summary>One membership in an answer of <c>/admin/members</c>.</summary>
public sealed record MembershipView(IReadOnlyList<int> Acceptors, IReadOnlyList<int> Learners, long FromSlot);

/// <summary>The answer of <c>GET /admin/members</c> and of a change: the membership in force, and a change chosen but not
/// in force yet (null if none).</summary>
public sealed record MembersResponse(MembershipView InForce, MembershipView? Pending, long AppliedSlot);

/// <summary>
/// The operator's interface to the acceptor set, which is replicated state (README, "Changing the acceptor set"):
/// <c>GET /admin/members</c>; <c>POST /admin/members/{id}</c> adds an acceptor (<c>?as=learner</c>: a member that does
/// not vote); <c>DELETE /admin/members/{id}</c> removes a member. A change goes through the log like any command and
/// answers once it is in force (alpha slots after the slot that chose it; the leader fills them at once). An acceptor is
/// added only if it could vote at once (409 saying why not, and nothing changes), and the answer waits until it does vote
/// (503 saying what it waits for, if it does not in time). One change at a time: a request while another is pending
/// answers 409. A request that another change overtook (chosen first, from the same epoch) is computed again from the
/// set now in force, and answers as it would have against that set (404 if the node is no longer a member, 200 if it is
/// already what was asked for); 409 if that other change is still pending.
/// </summary>
public static class MembersApi
{
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan PendingGrace = TimeSpan.FromSeconds(3);

    public static void Map(WebApplication app, NodeRunner runner)
    {
        app.MapGet("/admin/members", () => Get(runner));
        app.MapPost("/admin/members/{id}", (string id, string? @as, HttpContext http) =>
            Change(runner, id, add: true, asLearner: string.Equals(@as, "learner", StringComparison.Ordinal), @as, http.RequestAborted));
        app.MapDelete("/admin/members/{id}", (string id, HttpContext http) =>
            Change(runner, id, add: false, asLearner: false, null, http.RequestAborted));
    }

    private static async Task<IResult> Get(NodeRunner runner)
    {
        var status = await LearnerStatusAsync(runner);
        return status is null
            ? KvApi.Error(503, "this node runs no learner, or it is starting")
            : Results.Json(View(status), KvJson.Default.MembersResponse);
    }

    private static async Task<IResult> Change(NodeRunner runner, string idText, bool add, bool asLearner, string? asValue,
        CancellationToken ct)
    {
        if (!int.TryParse(idText, out int id) || id <= 0) return KvApi.Error(400, $"'{idText}' is not a node id (a positive integer)");
        if (asValue is not null && !asLearner) return KvApi.Error(400, $"?as={asValue}: only ?as=learner is known");
        if (runner.Current?.Context.Paxos.Proposer is not { } proposer) return KvApi.Error(503, "this node runs no proposer");

        var deadline = DateTime.UtcNow + ChangeTimeout;
        while (DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
        {
            var status = await SettledStatusAsync(runner, ct);
            if (status?.InForce is not { } current) return KvApi.Error(503, "this node runs no learner, or it is starting");
            if (status.Pending is { } pending)
                return KvApi.Error(409, $"a change is pending ({pending.Membership}, in force from slot {pending.EffectiveFrom}): one change at a time");

            Membership next;
            if (add)
            {
                if (asLearner ? current.IsMember(id) && !current.IsAcceptor(id) : current.IsAcceptor(id))
                    return asLearner ? Results.Json(View(status), KvJson.Default.MembersResponse) // already so: nothing to change
                        : await OnceItVotesAsync(runner, status, id, deadline, ct);
                if (!asLearner && await NotReadyToVoteAsync(runner, id, ct) is { } why)
                    return KvApi.Error(409, why + ". An acceptor added before it can vote counts in every quorum without voting: " +
                                            "with one acceptor down the cluster could choose nothing, not even this change. Nothing " +
                                            "was changed; try again once it is ready (its node's /status shows its state)");
                next = asLearner
                    ? new Membership(current.Acceptors.Where(a => a != id), current.Learners.Append(id))
                    : new Membership(current.Acceptors.Append(id), current.Learners.Where(l => l != id));
            }
            else
            {
                if (!current.IsMember(id)) return KvApi.Error(404, $"node {id} is not a member ({current})");
                var acceptors = current.Acceptors.Where(a => a != id).ToList();
                if (acceptors.Count == 0) return KvApi.Error(400, $"node {id} is the last acceptor: a cluster needs one");
                next = new Membership(acceptors, current.Learners.Where(l => l != id));
            }

            // The change names the epoch it expects (no change is pending, so the latest is the one in force): a copy chosen
            // after another change (or after itself) changes nothing, even once the set is back to this one. If this node's
            // view was behind, the change is computed again from what the log says now.
            var outcome = await ProposeAsync(runner, proposer, new Reconfiguration(status.Memberships[^1], next), deadline, ct);
            if (outcome is { } done) return done is InForce inForce && add && !asLearner
                ? await OnceItVotesAsync(runner, inForce.Status, id, deadline, ct)
                : done;
        }
        return KvApi.Error(503, $"the change was not in force within {ChangeTimeout.TotalSeconds:0} s; it may still take effect");
    }

    /// <summary>Proposes the change until the log shows it (then waits until it is in force) or another epoch; null: another
    /// change came first, compute the change again.</summary>
    private static async Task<IResult?> ProposeAsync(NodeRunner runner, IActorRef proposer, Reconfiguration change,
        DateTime deadline, CancellationToken ct)
    {
        var proposedAt = DateTime.MinValue;
        while (DateTime.UtcNow < deadline && !ct.IsCancellationRequested)
        {
            if (DateTime.UtcNow - proposedAt > TimeSpan.FromSeconds(1))
            {
                proposer.Tell(new Propose(SlotValue.Reconfigure(change), 0));
                proposedAt = DateTime.UtcNow;
            }
            await Task.Delay(100, ct).ContinueWith(_ => { });
            var status = await LearnerStatusAsync(runner);
            if (status is null) continue;
            var epochs = status.Memberships;
            if (change.Expects(epochs[^1])) continue; // not chosen yet
            // Chosen if the latest epoch is the one it started: the next set, right after the epoch it expects (a change to
            // the same set from the same epoch is the same value).
            if (epochs.Length > 1 && change.Expects(epochs[^2]) && epochs[^1].Membership.Equals(change.Next))
            {
                if (status.Pending is null) return new InForce(status);
            }
            else return null;
        }
        return KvApi.Error(503, $"the change to {change.Next} was not in force in time; it may still take effect");
    }

    /// <summary>The change asked for is in force, as of <paramref name="Status"/>.</summary>
    private sealed class InForce(LearnerStatus status) : IResult
    {
        public LearnerStatus Status { get; } = status;

        public Task ExecuteAsync(HttpContext httpContext) =>
            Results.Json(View(Status), KvJson.Default.MembersResponse).ExecuteAsync(httpContext);
    }

    /// <summary>
    /// An added acceptor is in the set, but it votes only once every other acceptor of the set has recorded it
    /// (AcceptorStartup: that is how a lost journal is told from a new node); until then it counts in every quorum without
    /// voting, and removing another acceptor, or losing one, can leave no quorum at all. So the answer waits until it votes
    /// (it asks the acceptor, wherever it runs), and says what it waits for if it does not in time.
    /// </summary>
    private static async Task<IResult> OnceItVotesAsync(NodeRunner runner, LearnerStatus status, int id, DateTime deadline,
        CancellationToken ct)
    {
        string waiting = "it has not answered (its node is not a cluster member, or it is starting)";
        while (!ct.IsCancellationRequested)
        {
            var (voter, silent) = await AskVoterAsync(runner, id, ct);
            if (voter is { Votes: true }) return Results.Json(View(status), KvJson.Default.MembersResponse);
            waiting = voter?.State ?? silent!;
            if (DateTime.UtcNow >= deadline) break;
            await Task.Delay(200, ct).ContinueWith(_ => { });
        }
        var view = View(status);
        return KvApi.Error(503, $"acceptor {id} is in the acceptor set (acceptors [{string.Join(", ", view.InForce.Acceptors)}] from " +
                                $"slot {view.InForce.FromSlot}), but it does not vote yet: {waiting}. Until it votes it counts in every " +
                                "quorum without voting: do not remove or stop another acceptor before it does (POST again to wait for it)");
    }

    /// <summary>How long an add waits for the acceptor to be ready before refusing: a node just started is usually a
    /// second away from it (it asks the acceptors whether they know it, then to record it).</summary>
    private static readonly TimeSpan ReadyGrace = TimeSpan.FromSeconds(5);

    /// <summary>Why acceptor <paramref name="id"/> could not vote if it were added now, or null if it could: its node runs,
    /// is a cluster member, and its acceptor's state is its own (it joined as a voter, or recovered its journal). Asked
    /// again for <see cref="ReadyGrace"/> before the answer is no.</summary>
    private static async Task<string?> NotReadyToVoteAsync(NodeRunner runner, int id, CancellationToken ct)
    {
        var giveUp = DateTime.UtcNow + ReadyGrace;
        while (true)
        {
            var (voter, silent) = await AskVoterAsync(runner, id, ct);
            if (voter is { Ready: true }) return null;
            string why = voter is null ? silent! : $"acceptor {id} cannot vote yet ({voter.State})";
            if (DateTime.UtcNow >= giveUp || ct.IsCancellationRequested) return why;
            await Task.Delay(200, ct).ContinueWith(_ => { });
        }
    }

    /// <summary>Asks acceptor <paramref name="id"/>, wherever it runs, for its <see cref="VoterState"/>; without an answer,
    /// why not.</summary>
    private static async Task<(VoterState? Voter, string? Silent)> AskVoterAsync(NodeRunner runner, int id, CancellationToken ct)
    {
        if (runner.Current?.Context.Directory.Resolve(AgentId.Acceptor(id)) is not { } acceptor)
            return (null, $"node {id} is not a member of this Akka cluster (start it, with this cluster's seeds, first)");
        try
        {
            return (await acceptor.Ask<VoterState>(GetVoterState.Instance, TimeSpan.FromSeconds(2), ct), null);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return (null, $"acceptor {id} did not answer within 2 s (its node runs no acceptor, or it is starting)");
        }
    }

    /// <summary>This node's learner status, once a change it has learned is in force (the leader fills the slots before it
    /// at once), or after a short grace: a change still pending then is another operator's, in progress.</summary>
    private static async Task<LearnerStatus?> SettledStatusAsync(NodeRunner runner, CancellationToken ct)
    {
        var status = await LearnerStatusAsync(runner);
        for (var settle = DateTime.UtcNow + PendingGrace; status?.Pending is not null && DateTime.UtcNow < settle;)
        {
            await Task.Delay(100, ct).ContinueWith(_ => { });
            status = await LearnerStatusAsync(runner);
        }
        return status;
    }

    private static async Task<LearnerStatus?> LearnerStatusAsync(NodeRunner runner)
    {
        if (runner.Current?.Context.Paxos.Learner is not { } learner) return null;
        try
        {
            var status = await learner.Ask<LearnerStatus>(GetLearnerStatus.Instance, TimeSpan.FromSeconds(2));
            return status.Memberships.IsDefaultOrEmpty ? null : status;
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return null; // restarting under its supervisor
        }
    }

    internal static MembersResponse View(LearnerStatus status)
    {
        var history = new MembershipHistory(status.Memberships, status.NextToApply);
        var inForce = history.At(status.NextToApply);
        long from = status.Memberships.Where(e => e.EffectiveFrom <= status.NextToApply).Select(e => e.EffectiveFrom).DefaultIfEmpty(0).Max();
        var pending = status.Pending is { } p ? ToView(p.Membership, p.EffectiveFrom) : null;
        return new MembersResponse(ToView(inForce, from), pending, status.NextToApply - 1);
    }

    private static MembershipView ToView(Membership m, long from) => new(m.Acceptors, m.Learners, from);
}
