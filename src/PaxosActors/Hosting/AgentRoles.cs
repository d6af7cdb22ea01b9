using PaxosActors.Core.Protocol;

namespace PaxosActors.Hosting;

/// <summary>Which Paxos agents a node runs.</summary>
[Flags]
public enum PaxosAgents { None = 0, Acceptor = 1, Proposer = 2, Learner = 4, All = Acceptor | Proposer | Learner }

/// <summary>
/// The built-in roles: a node whose <c>akka.cluster.roles</c> names <c>acceptor</c>, <c>proposer</c> or <c>learner</c>
/// runs that Paxos agent. A "role" is always a name in <c>akka.cluster.roles</c>: one of these three, or a user's own
/// (<see cref="INodeRole"/>).
/// </summary>
public static class AgentRoles
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal) { "acceptor", "proposer", "learner" };

    public static string NameOf(Agent agent) => agent switch
    {
        Agent.Acceptor => "acceptor",
        Agent.Proposer => "proposer",
        _ => "learner",
    };

    /// <summary>The agents that <paramref name="roles"/> name.</summary>
    public static PaxosAgents From(IEnumerable<string> roles)
    {
        var agents = PaxosAgents.None;
        foreach (string role in roles)
            agents |= role switch
            {
                "acceptor" => PaxosAgents.Acceptor,
                "proposer" => PaxosAgents.Proposer,
                "learner" => PaxosAgents.Learner,
                _ => PaxosAgents.None,
            };
        return agents;
    }
}
