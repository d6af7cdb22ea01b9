using Akka.Configuration;
using PaxosActors.Persistence;

namespace PaxosActors.Hosting;

/// <summary>What a node needs in its ActorSystem's configuration, worked out before the ActorSystem exists
/// (<see cref="PaxosNodeHost.Plan"/>), and the role objects of this start.</summary>
/// <param name="Overrides">Above the node's configuration: the cluster roles with the node's id role, the seeds, the journal.</param>
/// <param name="Defaults">Below it: the roles' reference.conf, cluster defaults, the library's defaults.</param>
/// <param name="Unreadable">Why the node's SQLite file cannot be read, or null.</param>
public sealed record NodePlan(Config Overrides, Config Defaults, IReadOnlyList<INodeRole> Roles, IReadOnlyList<string> RoleNames,
    JournalUnreadableException? Unreadable)
{
    /// <summary>Remoting over mutual TLS (<c>paxos.tls</c>), or null: its setup joins the ActorSystem's.</summary>
    public Security.TlsSettings? Tls { get; init; }
}
