namespace PaxosActors.Core.Protocol;

/// <summary>
/// A Paxos agent as a pure state machine (proposer, acceptor or learner): no clock, no I/O, no unseeded randomness.
/// A shell recovers it from its journal with <see cref="Recover"/>, steps it with <see cref="Recovered"/>, and from
/// then on hands it every input, message or tick, through <see cref="Step"/>, carrying out the <see cref="Ready"/>
/// each step returns. The actors and the simulation drive agents through exactly this.
/// </summary>
public interface IAgent
{
    AgentId Id { get; }

    /// <summary>Replays one record written by an earlier incarnation (an event, or a snapshot of the whole state),
    /// before the first step. Nothing is sent or written.</summary>
    void Recover(IJournalRecord record);

    /// <summary>The one entry point: an input in, everything the shell must do out. An input the agent does not take is
    /// ignored (<see cref="Ready.None"/>), as a lost message would be.</summary>
    Ready Step(IInput input);
}
