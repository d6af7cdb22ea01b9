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
        int keep = AuditSettings.Recent(node.Config);
        var trail = node.System.ActorOf(AuditTrail.Props(node.Service<AuditView>()!, keep), $"{Name}-trail");
        // Subscribed in Start, before the node opens the stream: the trail sees the learner's recovery too.
        node.Applied.Subscribe(trail);
    }

    public object? Status(NodeContext node) => node.Service<AuditView>()?.Current is { } counts
        ? new { total = counts.Total, applied_slot = counts.AppliedSlot }
        : null;

    public void MapRoutes(IEndpointRouteBuilder routes, RoleNode node) =>
        routes.MapGet("/", () => node.Service<AuditView>() is { } view && node.Context is { } context
            ? Results.Json(AuditReport.Of(context.Settings.NodeId, view), RoleEndpoints.SnakeCase)
            : RoleNode.Unavailable());
}
