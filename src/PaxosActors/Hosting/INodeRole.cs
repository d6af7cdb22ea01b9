namespace PaxosActors.Hosting;

/// <summary>
/// Something a node can run, named in <c>akka.cluster.roles</c> and mapped to its class in
/// <c>paxos.roles</c>. Adding a capability to a node is adding one of these and naming it in HOCON.
/// </summary>
public interface INodeRole
{
    /// <summary>The name that <c>akka.cluster.roles</c> uses.</summary>
    string Name { get; }

    /// <summary>Before the Paxos actors start: a role that owns the replicated state machine sets
    /// <see cref="NodeContext.StateMachine"/> here. Most roles do nothing.</summary>
    void Configure(NodeContext node) { }

    /// <summary>After the Paxos actors started: start this role's actors and services.</summary>
    void Start(NodeContext node);
}
