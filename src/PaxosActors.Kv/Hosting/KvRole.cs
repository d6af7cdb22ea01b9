using System.Security.Cryptography;
using PaxosActors.Hosting;

namespace PaxosActors.Kv.Hosting;

/// <summary>
/// The replicated key-value store as a node role (<c>akka.cluster.roles = [..., kv]</c>): its state
/// machine is what this node's learner applies chosen slots to, and its <see cref="KvService"/> is what
/// the HTTP API calls.
/// </summary>
public sealed class KvRole : INodeRole
{
    public string Name => "kv";

    public void Configure(NodeContext node)
    {
        if (!node.Roles.Contains("learner") || !node.Roles.Contains("proposer"))
            throw new Akka.Configuration.ConfigurationException("akka.cluster.roles: the kv role needs the proposer and learner roles on the same node");
        // A fresh session id per incarnation: the sequence numbers of a previous one are not remembered.
        var service = new KvService(KvSettings.Create(node.Config), BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
        node.AddService(service);
        node.StateMachine = _ => service.CreateStateMachine();
    }

    public void Start(NodeContext node) => node.Service<KvService>()!.Attach(node.Paxos.Proposer!);
}
