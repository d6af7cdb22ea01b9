using Akka.Actor;
using PaxosActors.Actors;
using PaxosActors.Configuration;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;
using Address = PaxosActors.Core.Protocol.Address;

namespace PaxosActors.Hosting;

/// <summary>The supervisors of one node's roles; each forwards to its current child.</summary>
public sealed record PaxosNodeRefs(int Node, IActorRef? Acceptor, IActorRef? Proposer, IActorRef? Learner);

/// <summary>Which of the three Paxos roles a node runs.</summary>
[Flags]
public enum PaxosRoles { None = 0, Acceptor = 1, Proposer = 2, Learner = 4, All = Acceptor | Proposer | Learner }

/// <summary>Starts one node's Paxos roles, each under its backoff supervisor, and registers them in the directory.</summary>
public static class PaxosNode
{
    public static PaxosNodeRefs Start(IActorRefFactory system, PaxosSettings settings, RoleDirectory directory,
        Func<IActorContext, IStateMachine> stateMachine, PaxosRoles roles = PaxosRoles.All, NodeHealth? health = null)
    {
        int id = settings.NodeId;
        var quorum = new QuorumSet(settings.Acceptors);
        IActorRef? acceptor = null, proposer = null, learner = null;

        if (roles.HasFlag(PaxosRoles.Acceptor))
        {
            var startup = new AcceptorStartupOptions(quorum, settings.RebuildAcceptor, health);
            acceptor = system.ActorOf(RoleSupervisor.Props(AcceptorActor.Props(id, directory, settings.SnapshotEvery, startup),
                "acceptor", settings), $"acceptor-{id}");
            directory.Register(Address.Acceptor(id), acceptor);
        }
        if (roles.HasFlag(PaxosRoles.Learner))
        {
            var options = settings.LearnerOptions;
            learner = system.ActorOf(RoleSupervisor.Props(LearnerActor.Props(id,
                sm => new Learner(id, quorum, settings.Members, options, sm), stateMachine, directory, settings.TickInterval,
                settings.SnapshotEvery),
                "learner", settings), $"learner-{id}");
            directory.Register(Address.Learner(id), learner);
        }
        if (roles.HasFlag(PaxosRoles.Proposer))
        {
            var options = settings.ProposerOptions;
            proposer = system.ActorOf(RoleSupervisor.Props(ProposerActor.Props(id,
                random => new Proposer(id, quorum, settings.Members, options, random), directory, settings.TickInterval),
                "proposer", settings), $"proposer-{id}");
            directory.Register(Address.Proposer(id), proposer);
        }
        return new PaxosNodeRefs(id, acceptor, proposer, learner);
    }
}
