using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Configuration;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

namespace PaxosActors.Hosting;

/// <summary>The supervisors of one node's agents; each forwards to its current child.</summary>
public sealed record PaxosNodeRefs(int Node, IActorRef? Acceptor, IActorRef? Proposer, IActorRef? Learner);

/// <summary>Starts one node's Paxos agents, each under its backoff supervisor named after the agent
/// (<see cref="AgentId.ActorName"/>, the name remote lookups use), and registers them in the directory.</summary>
public static class PaxosNode
{
    public static PaxosNodeRefs Start(IActorRefFactory system, PaxosSettings settings, AgentDirectory directory,
        Func<IActorContext, IStateMachine> stateMachine, PaxosAgents agents = PaxosAgents.All, NodeHealth? health = null)
    {
        int id = settings.NodeId;
        var tick = settings.TickInterval;
        IActorRef? acceptor = null, proposer = null, learner = null;

        if (agents.HasFlag(PaxosAgents.Acceptor))
            acceptor = StartAgent(system, AgentId.Acceptor(id), directory, settings,
                AcceptorActor.Props(id, settings.AcceptorOptions, directory, tick, settings.SnapshotEvery, health));
        if (agents.HasFlag(PaxosAgents.Learner))
        {
            bool compact = agents.HasFlag(PaxosAgents.Acceptor);
            learner = StartAgent(system, AgentId.Learner(id), directory, settings,
                LearnerActor.Props(sm => new Learner(id, settings.SeedMembership, settings.Members, settings.LearnerOptions(sm is ISnapshotStateMachine, compact)),
                    stateMachine, directory, tick));
        }
        if (agents.HasFlag(PaxosAgents.Proposer))
        {
            var options = settings.ProposerOptions;
            proposer = StartAgent(system, AgentId.Proposer(id), directory, settings,
                ProposerActor.Props(random => new Proposer(id, settings.SeedMembership, settings.Members, options, random), directory, tick));
        }
        return new PaxosNodeRefs(id, acceptor, proposer, learner);
    }

    private static IActorRef StartAgent(IActorRefFactory system, AgentId agent, AgentDirectory directory, PaxosSettings settings, Props props)
    {
        var supervisor = system.ActorOf(RoleSupervisor.Props(props, AgentRoles.NameOf(agent.Agent), settings), agent.ActorName);
        directory.Register(agent, supervisor);
        return supervisor;
    }
}
