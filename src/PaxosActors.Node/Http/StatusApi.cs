using System.Text.Json;
using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Hosting;
using PaxosActors.Http;
using PaxosActors.Kv.Hosting;
using PaxosActors.Routing;

namespace PaxosActors.Node.Http;

/// <summary>One cluster member as <c>/status</c> shows it.</summary>
public sealed record MemberView(int? NodeId, string Address, string Status, bool Reachable, IReadOnlyList<string> Roles)
{
    /// <summary>Where clients reach this member's API, as it announced it (<c>paxos.client-url</c>), or null.</summary>
    public string? ClientUrl { get; init; }
}

/// <summary>The answer of <c>GET /status</c>.</summary>
public sealed record StatusResponse(
    int NodeId, IReadOnlyList<string> Roles, string Mode, int? Leader, string? Ballot, string? Phase,
    long? FirstUnchosenSlot, long? AppliedSlot, long? Keys, long? KvAppliedSlot, string? KvDigest, AcceptorHealth? Acceptor,
    IReadOnlyList<MemberView> Members, string Journal, string? JournalError, int Pid, string? Instance)
{
    /// <summary>The acceptor set in force at the applied slot, as chosen through the log (null: no learner here).</summary>
    public IReadOnlyList<int>? Acceptors { get; init; }
}

/// <summary>Whether this node's acceptor votes, and if not, why.</summary>
public sealed record AcceptorHealth(bool Votes, string State);

/// <summary><c>GET /status</c>: what this node knows of the protocol and the cluster, as JSON.</summary>
public static class StatusApi
{
    /// <summary>Set by whoever launched this process (<see cref="Launch.NodeProcess"/>) to a value of its own, and echoed
    /// as <c>instance</c>: a launcher waiting for its node can tell its answer from another process's on the same port.</summary>
    public const string InstanceVariable = "PAXOS_INSTANCE";

    public static void Map(WebApplication app, NodeRunner runner)
    {
        string? instance = Environment.GetEnvironmentVariable(InstanceVariable);
        app.MapGet("/status", () => Status(runner, instance));
    }

    private static async Task<IResult> Status(NodeRunner runner, string? instance)
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
        var members = state.Members.Select(m => new MemberView(ClusterDirectory.NodeIdOf(m), m.Address.ToString(),
                m.Status.ToString(), !state.Unreachable.Contains(m),
                m.Roles.Where(r => !ClusterDirectory.IsAnnouncement(r)).OrderBy(r => r).ToList())
            {
                ClientUrl = ClusterDirectory.ClientUrlOf(m)?.AbsoluteUri,
            })
            .OrderBy(m => m.NodeId).ToList();
        // Not the state machine itself: it belongs to the learner's thread, which publishes a view of it per slot.
        var kv = host.Context.Service<KvService>()?.View;
        var settings = host.Settings;
        var body = new StatusResponse(settings.NodeId, host.Context.Roles.OrderBy(r => r).ToList(),
            settings.MultiPaxos ? "multi" : "basic", proposer?.Leader, proposer?.Ballot.ToString(), proposer?.Phase.ToString(),
            proposer?.FirstUnchosen, learner is null ? null : learner.NextToApply - 1, kv?.Keys, kv?.AppliedSlot, kv?.Digest.ToString("x16"),
            host.Context.Roles.Contains("acceptor") ? new AcceptorHealth(host.Context.Health.AcceptorVotes, host.Context.Health.Acceptor) : null,
            members,
            Path.GetFullPath(settings.DatabasePath), host.Context.JournalError ?? JournalRefusing(host.Context), Environment.ProcessId, instance)
        {
            Acceptors = learner?.InForce?.Acceptors,
        };
        // Each role's own fields, by role name, after the node's.
        var json = JsonSerializer.SerializeToNode(body, KvJson.Default.StatusResponse)!.AsObject();
        json["role_status"] = RoleEndpoints.Status(host.Context);
        json["tls"] = host.Context.Tls is { } tls ? JsonSerializer.SerializeToNode(tls.Expiry(DateTime.UtcNow).ToList(), KvJson.Default.ListCertificateExpiry) : null;
        return Results.Json(json);
    }

    private static string? JournalRefusing(NodeContext context) =>
        context.Health.Journal?.Failure is { } failure ? $"the journal refuses writes: {failure}" : null;
}
