using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests;

/// <summary>
/// Hands a message to the core handler its type belongs to, as the actor shells do with their typed
/// receives. Every hand-driven network in the tests (the simulation, the scripted scenarios) routes
/// through these, so a new message type is wired in one place. A message a role does not take is ignored.
/// </summary>
public static class CoreHandlers
{
    public static AcceptorStep Deliver(Acceptor acceptor, IPaxosMessage message) => message switch
    {
        Prepare m => acceptor.Handle(m),
        Accept m => acceptor.Handle(m),
        RoundQuery m => acceptor.Handle(m),
        _ => default,
    };

    public static void Deliver(Proposer proposer, IPaxosMessage message)
    {
        switch (message)
        {
            case Promise m: proposer.Handle(m); break;
            case Nack m: proposer.Handle(m); break;
            case Chosen m: proposer.Handle(m); break;
            case Heartbeat m: proposer.Handle(m); break;
            case Propose m: proposer.Handle(m); break;
            case RoundReport m: proposer.Handle(m); break;
        }
    }

    public static void Deliver(Learner learner, IPaxosMessage message)
    {
        switch (message)
        {
            case Accept m: learner.Handle(m); break;
            case Accepted m: learner.Handle(m); break;
            case Chosen m: learner.Handle(m); break;
            case ChosenRange m: learner.Handle(m); break;
            case CatchUp m: learner.Handle(m); break;
            case Heartbeat m: learner.Handle(m); break;
        }
    }
}
