using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Hosting;

/// <summary>
/// Something a node can run, named in <c>akka.cluster.roles</c>: registered in code (<see cref="RoleRegistry.Add"/>),
/// mapped to its class in <c>paxos.roles</c>, or found in a plugin folder (<c>paxos.roles-dir</c>). One instance per
/// start of the node's ActorSystem; its constructor should do nothing (it also runs when a plugin folder is scanned).
/// </summary>
/// <remarks>
/// The node calls, in order: <see cref="ReferenceConfig"/> (before the ActorSystem exists), <see cref="Configure"/>
/// (before the Paxos actors start), <see cref="Start"/> (after), <see cref="Status"/> (from HTTP threads, any time after
/// Start), <see cref="Stop"/> (once, when the ActorSystem stops). A role that serves HTTP implements
/// <c>PaxosActors.Http.IHttpRole</c> too.
/// </remarks>
public interface INodeRole
{
    /// <summary>The name that <c>akka.cluster.roles</c> uses.</summary>
    string Name { get; }

    /// <summary>This role's defaults, used as a fallback of the node's configuration as Akka modules' reference.conf are:
    /// by default every embedded resource of the role's assembly whose name ends in <c>reference.conf</c>.</summary>
    Config ReferenceConfig => EmbeddedConfig.ReferenceOf(GetType().Assembly);

    /// <summary>Before the Paxos actors start: register this role's replicated state machine
    /// (<see cref="NodeContext.StateMachines"/>), its services (<see cref="NodeContext.AddService{T}"/>), and check its
    /// settings (throw a <see cref="ConfigurationException"/> naming the key). Most roles do nothing.</summary>
    void Configure(NodeContext node) { }

    /// <summary>After the Paxos actors started: start this role's actors, subscribe to the applied stream
    /// (<see cref="NodeContext.Applied"/>).</summary>
    void Start(NodeContext node);

    /// <summary>Once, when this node's ActorSystem stops (a graceful stop, or the cluster downed the node and it is about
    /// to restart): in coordinated shutdown's service-stop phase while the role's actors still run, or right after the
    /// ActorSystem terminated if it ended without coordinated shutdown. Default: nothing.</summary>
    void Stop(NodeContext node) { }

    /// <summary>A small JSON-serialisable object that <c>GET /status</c> shows under <c>role_status.&lt;Name&gt;</c>; null:
    /// nothing. Called from HTTP threads: read only what is safe to read from any thread.</summary>
    object? Status(NodeContext node) => null;
}
