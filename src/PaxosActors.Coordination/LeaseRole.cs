using Akka.Configuration;
using PaxosActors.Hosting;

namespace PaxosActors.Coordination;

/// <summary>
/// The <c>paxos-lease</c> role: the replicated lease table behind <see cref="PaxosLease"/>. Run it, with the proposer
/// and learner roles, on every node that takes leases (a Cluster Singleton's candidates, say); it owns replicated
/// state, so every learner node of the cluster should run it.
/// </summary>
public sealed class LeaseRole : INodeRole
{
    /// <summary>The name of the role in <c>akka.cluster.roles</c>.</summary>
    public const string RoleName = "paxos-lease";

    /// <summary>The name of its state machine in the log.</summary>
    public const string StateMachineName = "leases";

    public string Name => RoleName;

    public void Configure(NodeContext node)
    {
        if (!node.Roles.Contains("learner") || !node.Roles.Contains("proposer"))
            throw new ConfigurationException($"akka.cluster.roles: the {RoleName} role proposes through the log and needs the proposer and learner roles on its node");
        var interval = node.Config.GetTimeSpan("paxos.lease.check-interval", TimeSpan.FromMilliseconds(100));
        if (interval <= TimeSpan.Zero) throw new ConfigurationException("paxos.lease.check-interval: must be positive");
        var view = new LeaseView();
        node.AddService(new LeaseService(node.Commands, view));
        node.StateMachines.Register(StateMachineName, () => new LeaseTable(view));
    }

    public void Start(NodeContext node) =>
        node.System.ActorOf(LeaseExpiry.Props(node.Service<LeaseService>()!, node.Config.GetTimeSpan("paxos.lease.check-interval")), "paxos-lease-expiry");

    public object? Status(NodeContext node) =>
        node.Service<LeaseService>()?.View.Current is { } v ? new { held = v.Leases.Count, last_token = v.LastToken } : null;
}
