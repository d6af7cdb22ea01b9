using Akka.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PaxosActors.Hosting;
using PaxosActors.Http;

namespace Samples.Audit;

/// <summary>
/// A role that audits what the cluster applies: how many commands, per state machine (replicated, so every node agrees
/// and the counts survive restarts), and the last few commands this node's applied stream delivered. Its route
/// <c>GET /roles/audit</c> answers with both; <c>/status</c> shows its total. Name it in <c>akka.cluster.roles</c> on every
/// learner node: it owns replicated state.
/// </summary>
public sealed class AuditRole : IHttpRole
{
    /// <summary>The name of the role and of its state machine.</summary>
    public const string RoleName = "audit";

    public string Name => RoleName;

    public void Configure(NodeContext node)
    {
        var view = new AuditView();
        node.AddService(view);
        // A fresh AuditCounts for every learner incarnation and every snapshot without audit state; the view outlives them.
        node.StateMachines.Register(RoleName, () => new AuditCounts(view));
    }

    public void Start(NodeContext node)
    {
        int keep = Recent(node.Config);
        var trail = node.System.ActorOf(AuditTrail.Props(node.Service<AuditView>()!, keep), "audit-trail");
        // Subscribed in Start, before the node opens the stream: the trail sees the learner's recovery too.
        node.Applied.Subscribe(trail);
    }

    public object? Status(NodeContext node) => node.Service<AuditView>()?.Current is { } counts
        ? new { total = counts.Total, applied_slot = counts.AppliedSlot }
        : null;

    public void MapRoutes(IEndpointRouteBuilder routes, RoleNode node) =>
        routes.MapGet("/", () => node.Service<AuditView>() is { } view && node.Context is { } context
            ? Results.Json(Report(context.Settings.NodeId, view), RoleEndpoints.SnakeCase)
            : RoleNode.Unavailable());

    /// <summary>The answer of <c>GET /roles/audit</c>.</summary>
    public static AuditReport Report(int node, AuditView view)
    {
        var counts = view.Current;
        var seen = view.Seen;
        return new AuditReport(node, counts.AppliedSlot, counts.Total, counts.ByStateMachine,
            new AuditSeen(seen.Live, seen.Replayed, seen.Installed), seen.Recent.ToList());
    }

    /// <summary><c>paxos.audit.recent</c>, checked.</summary>
    public static int Recent(Config config)
    {
        int recent = config.GetInt("paxos.audit.recent", 20);
        if (recent is < 0 or > 10_000) throw new ConfigurationException($"paxos.audit.recent: {recent} is not between 0 and 10000");
        return recent;
    }
}

/// <summary><c>GET /roles/audit</c>: the replicated counts (<c>counts</c>, <c>total</c>, as of <c>applied_slot</c>), what this
/// node incarnation's applied stream delivered (<c>seen</c>), and its last commands (<c>recent</c>).</summary>
public sealed record AuditReport(int Node, long AppliedSlot, long Total, IReadOnlyDictionary<string, long> Counts, AuditSeen Seen,
    IReadOnlyList<AuditEntry> Recent);

/// <summary>Commands the applied stream delivered live and replayed, and whole states installed, in this incarnation.</summary>
public sealed record AuditSeen(long Live, long Replayed, long Installed);
