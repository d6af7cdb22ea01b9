using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Routing;

namespace PaxosActors.Node.Http;

/// <summary>One cluster member as <c>/status</c> shows it.</summary>
public sealed record MemberStatus(int? NodeId, string Address, string Status, bool Reachable, IReadOnlyList<string> Roles);

/// <summary>The answer of <c>GET /status</c>.</summary>
public sealed record StatusResponse(
    int NodeId, IReadOnlyList<string> Roles, string Mode, int? Leader, string? Ballot, string? Phase,
    long? FirstUnchosenSlot, long? AppliedSlot, long? Keys, AcceptorHealth? Acceptor, IReadOnlyList<MemberStatus> Members,
    string Journal, string? JournalError);

/// <summary>Whether this node's acceptor votes, and if not, why.</summary>
public sealed record AcceptorHealth(bool Votes, string State);

/// <summary><c>GET /status</c>: what this node knows of the protocol and the cluster, as JSON.</summary>
public static class StatusApi
{
    public static void Map(WebApplication app, NodeRunner runner) => app.MapGet("/status", () => Status(runner));

    private static async Task<IResult> Status(NodeRunner runner)
    {
        if (runner.Current is not { } host) return KvApi.Error(503, "this node is starting or restarting");
        var paxos = host.Context.Paxos;
        var timeout = TimeSpan.FromSeconds(2);
        ProposerStatus? proposer = null;
        LearnerStatus? learner = null;
        try
        {
            if (paxos.Proposer is { } p) proposer = await p.Ask<ProposerStatus>(GetProposerStatus.Instance, timeout);
            if (paxos.Learner is { } l) learner = await l.Ask<LearnerStatus>(GetLearnerStatus.Instance, timeout);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            // a role restarting under its supervisor: report what is known
        }
        var cluster = Akka.Cluster.Cluster.Get(host.System);
        var state = cluster.State;
        var members = state.Members.Select(m => new MemberStatus(ClusterDirectory.NodeIdOf(m), m.Address.ToString(),
                m.Status.ToString(), !state.Unreachable.Contains(m),
                m.Roles.Where(r => !r.StartsWith(ClusterDirectory.NodeRolePrefix)).OrderBy(r => r).ToList()))
            .OrderBy(m => m.NodeId).ToList();
        var kv = host.Context.Service<PaxosActors.Kv.Hosting.KvService>()?.StateMachine;
        var settings = host.Settings;
        var body = new StatusResponse(settings.NodeId, host.Context.Roles.OrderBy(r => r).ToList(),
            settings.MultiPaxos ? "multi" : "basic", proposer?.Leader, proposer?.Ballot.ToString(), proposer?.Phase.ToString(),
            proposer?.FirstUnchosen, learner is null ? null : learner.NextToApply - 1, kv?.Count,
            host.Context.Roles.Contains("acceptor") ? new AcceptorHealth(host.Context.Health.AcceptorVotes, host.Context.Health.Acceptor) : null,
            members,
            Path.GetFullPath(settings.DatabasePath), host.Context.JournalError);
        return Results.Json(body, KvJson.Default.StatusResponse);
    }
}
