using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;
using static Akka.Cluster.ClusterEvent;

namespace PaxosActors.Routing;

/// <summary>
/// Keeps the <see cref="AgentDirectory"/> in step with cluster membership: when a member is up (or weakly up), the agents
/// it runs become reachable under its node id; when it is removed, they are forgotten. Membership is only
/// for finding addresses: quorums are counted over the configured acceptor set, never over members.
/// </summary>
public sealed class ClusterDirectory : ReceiveActor
{
    /// <summary>The cluster role that carries a member's node id, e.g. <c>node-2</c>.</summary>
    public const string NodeRolePrefix = "node-";

    /// <summary>The cluster role that carries where clients reach a member's API (<c>paxos.client-url</c>), e.g.
    /// <c>client-url=http://127.0.0.1:8082/</c>.</summary>
    public const string ClientUrlRolePrefix = "client-url=";

    /// <summary>The roles a node adds to its <c>akka.cluster.roles</c> to tell the others about itself: its node id, and its
    /// client URL when it has one. They name no role to run.</summary>
    public static IEnumerable<string> Announcements(Configuration.PaxosSettings settings)
    {
        yield return $"{NodeRolePrefix}{settings.NodeId}";
        if (settings.ClientUrl is { } url) yield return ClientUrlRolePrefix + url.AbsoluteUri;
    }

    /// <summary>Whether <paramref name="role"/> is one of <see cref="Announcements"/> rather than a role to run.</summary>
    public static bool IsAnnouncement(string role) =>
        role.StartsWith(NodeRolePrefix, StringComparison.Ordinal) || role.StartsWith(ClientUrlRolePrefix, StringComparison.Ordinal);

    /// <summary>The client URL a member announced, if any.</summary>
    public static Uri? ClientUrlOf(Member member)
    {
        foreach (var role in member.Roles)
            if (role.StartsWith(ClientUrlRolePrefix, StringComparison.Ordinal) &&
                Uri.TryCreate(role[ClientUrlRolePrefix.Length..], UriKind.Absolute, out var url))
                return url;
        return null;
    }

    private readonly AgentDirectory _directory;
    private readonly int _self;
    private readonly Dictionary<int, UniqueAddress> _incarnations = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public ClusterDirectory(AgentDirectory directory, int self)
    {
        _directory = directory;
        _self = self;
        Receive<CurrentClusterState>(state =>
        {
            foreach (var m in state.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp)) Add(m);
        });
        Receive<MemberUp>(up => Add(up.Member));
        // A joining node is WeaklyUp when the cluster cannot converge (a member is unreachable: partitioned, paused, or
        // dead and not downed yet). Paxos needs no convergence, so its agents are reachable from then on: a node that
        // restarts while another is cut off serves within akka.cluster.allow-weakly-up-members, not once that one is
        // downed or back.
        Receive<MemberWeaklyUp>(up => Add(up.Member));
        Receive<MemberRemoved>(removed => Remove(removed.Member));
    }

    public static Props Props(AgentDirectory directory, int self) =>
        Akka.Actor.Props.Create(() => new ClusterDirectory(directory, self));

    /// <summary>The node id a member announced through its roles, if any.</summary>
    public static int? NodeIdOf(Member member)
    {
        foreach (var role in member.Roles)
            if (role.StartsWith(NodeRolePrefix, StringComparison.Ordinal) &&
                int.TryParse(role.AsSpan(NodeRolePrefix.Length), out int id))
                return id;
        return null;
    }

    protected override void PreStart() =>
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, InitialStateAsSnapshot, typeof(MemberUp), typeof(MemberWeaklyUp), typeof(MemberRemoved));

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    private void Add(Member member)
    {
        if (NodeIdOf(member) is not { } id || id == _self) return;
        _incarnations[id] = member.UniqueAddress;
        _directory.SetClientUrl(id, ClientUrlOf(member));
        var provider = ((ExtendedActorSystem)Context.System).Provider;
        foreach (var agent in Enum.GetValues<Agent>())
        {
            var agentId = new AgentId(agent, id);
            if (member.HasRole(AgentRoles.NameOf(agent)))
                _directory.Register(agentId, provider.ResolveActorRef(AgentDirectory.PathOn(member.Address, agentId)));
        }
        _log.Info("node {0} is {1} at {2} with roles {3}", id, member.Status, member.Address, string.Join(",", member.Roles));
    }

    private void Remove(Member member)
    {
        if (NodeIdOf(member) is not { } id || id == _self) return;
        if (_incarnations.TryGetValue(id, out var current) && current != member.UniqueAddress) return; // a newer incarnation is up
        _incarnations.Remove(id);
        _directory.Forget(id);
        _log.Info("node {0} left the cluster", id);
    }
}
