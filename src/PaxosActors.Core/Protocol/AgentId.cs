namespace PaxosActors.Core.Protocol;

/// <summary>
/// The three kinds of agent of Paxos Made Simple (§1: "proposers, acceptors, and learners"). A node runs at
/// most one of each. "Role" is kept for what <c>akka.cluster.roles</c> names: a node's roles decide which
/// agents it runs, and a user's own roles sit beside them.
/// </summary>
public enum Agent { Proposer, Acceptor, Learner }

/// <summary>One agent in the cluster: its kind and the configured id of the node it runs on. The shell maps it to
/// an actor (<see cref="ActorName"/> names that actor on its node); the core never holds an actor reference.</summary>
public readonly record struct AgentId(Agent Agent, int Node)
{
    public static AgentId Proposer(int node) => new(Agent.Proposer, node);
    public static AgentId Acceptor(int node) => new(Agent.Acceptor, node);
    public static AgentId Learner(int node) => new(Agent.Learner, node);

    /// <summary>The agent's actor name on its node (<c>acceptor-3</c>), the same string a remote lookup uses.</summary>
    public string ActorName => ToString();

    public override string ToString() => Agent switch
    {
        Agent.Proposer => $"proposer-{Node}",
        Agent.Acceptor => $"acceptor-{Node}",
        _ => $"learner-{Node}",
    };
}

/// <summary>A message an agent wants sent, and to which agent.</summary>
public readonly record struct Outgoing(AgentId To, IInput Message);
