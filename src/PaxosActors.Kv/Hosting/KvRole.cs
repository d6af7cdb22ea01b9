using System.Security.Cryptography;
using PaxosActors.Hosting;

namespace PaxosActors.Kv.Hosting;

/// <summary>
/// The replicated key-value store as a node role (<c>akka.cluster.roles = [..., kv]</c>): its state
/// machine, registered as "kv", is what this node's learner applies the KV commands of chosen slots to, and its
/// <see cref="KvService"/> is what the HTTP API calls.
/// </summary>
public sealed class KvRole : INodeRole
{
    /// <summary>The name of its replicated state machine (the same as the role's).</summary>
    public const string StateMachineName = "kv";

    public string Name => "kv";

    public void Configure(NodeContext node)
    {
        if (!node.Roles.Contains("learner") || !node.Roles.Contains("proposer"))
            throw new Akka.Configuration.ConfigurationException("akka.cluster.roles: the kv role needs the proposer and learner roles on the same node");
        // A fresh session id per incarnation: the sequence numbers of a previous one are not remembered.
        var service = new KvService(KvSettings.Create(node.Config), BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
        node.AddService(service);
        // Logs written before commands were framed hold bare KV commands and KV snapshots: they are the store's.
        node.StateMachines.Register(StateMachineName, service.CreateReplicatedStateMachine, ownsUnframedCommands: true);
    }

    public void Start(NodeContext node) => node.Service<KvService>()!.Attach(node.Paxos.Proposer!);
}
