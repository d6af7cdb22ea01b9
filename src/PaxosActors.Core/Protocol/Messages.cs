using System.Collections.Immutable;

namespace PaxosActors.Core.Protocol;

/// <summary>What an agent steps on (<see cref="IAgent.Step"/>): a message from another agent, or a local input from
/// the shell or from an agent on the same node.</summary>
public interface IInput;

/// <summary>Every message that crosses the wire between agents. The serializer is bound to this type.</summary>
public interface IPaxosMessage : IInput;

/// <summary>An input that never leaves its node: the clock, the shell's news, and what one agent tells another on the
/// same node. It is not serializable, and the shell refuses to send one to another node.</summary>
public interface ILocalInput : IInput;

/// <summary>One accepted value an acceptor reports in its <see cref="Promise"/>.</summary>
public sealed record AcceptedEntry(long Slot, Ballot Ballot, SlotValue Value);

/// <summary>Phase 1a: asks acceptors to promise <paramref name="Ballot"/> for every slot from
/// <paramref name="FromSlot"/> on. Carries no value (seed 002 gets this wrong).</summary>
public sealed record Prepare(Ballot Ballot, long FromSlot) : IPaxosMessage;

/// <summary>
/// Phase 1b: the acceptor promises never to accept a ballot below <paramref name="Ballot"/>, and reports
/// what it has accepted from the Prepare's slot on. Slots below <paramref name="CompactedBelow"/> are
/// chosen and forgotten by this acceptor: a leader must learn them, never propose in them.
/// </summary>
public sealed record Promise(Ballot Ballot, int Acceptor, long CompactedBelow, ImmutableArray<AcceptedEntry> Entries)
    : IPaxosMessage
{
    public bool Equals(Promise? other) =>
        other is not null && Ballot == other.Ballot && Acceptor == other.Acceptor &&
        CompactedBelow == other.CompactedBelow && Entries.SequenceEqual(other.Entries);

    public override int GetHashCode() => HashCode.Combine(Ballot, Acceptor, CompactedBelow, Entries.Length);
}

/// <summary>Phase 2a: asks acceptors to accept <paramref name="Value"/> for <paramref name="Slot"/> at
/// <paramref name="Ballot"/>. Learners see it too, so they know which value a vote for (slot, ballot) means.</summary>
public sealed record Accept(Ballot Ballot, long Slot, SlotValue Value) : IPaxosMessage;

/// <summary>Phase 2b: <paramref name="Acceptor"/> has durably accepted the value of (slot, ballot).</summary>
public sealed record Accepted(Ballot Ballot, long Slot, int Acceptor) : IPaxosMessage;

/// <summary>A refusal: <paramref name="Acceptor"/> has promised <paramref name="Promised"/>, which is above
/// <paramref name="Rejected"/>. It lets a losing proposer back off at once instead of waiting for a timeout.</summary>
public sealed record Nack(Ballot Rejected, int Acceptor, Ballot Promised) : IPaxosMessage;

/// <summary>A learner's announcement that <paramref name="Value"/> is chosen for <paramref name="Slot"/>.</summary>
public sealed record Chosen(long Slot, SlotValue Value) : IPaxosMessage;

/// <summary>A learner asks a peer for the chosen values from <paramref name="FromSlot"/> on.</summary>
public sealed record CatchUp(int Learner, long FromSlot) : IPaxosMessage;

/// <summary>Chosen values for consecutive slots starting at <paramref name="FromSlot"/>.</summary>
public sealed record ChosenRange(long FromSlot, ImmutableArray<SlotValue> Values) : IPaxosMessage
{
    public bool Equals(ChosenRange? other) =>
        other is not null && FromSlot == other.FromSlot && Values.SequenceEqual(other.Values);

    public override int GetHashCode() => HashCode.Combine(FromSlot, Values.Length);
}

/// <summary>Client commands on their way to the leader's proposer. <paramref name="Hops"/> bounds forwarding.</summary>
public sealed record Propose(SlotValue Commands, int Hops) : IPaxosMessage;

/// <summary>A leader's periodic sign of life to the other proposers, so they do not start an election.</summary>
public sealed record Heartbeat(Ballot Ballot, long FirstUnchosen) : IPaxosMessage;

/// <summary>A learner's whole applied state, every slot below <paramref name="NextToApply"/> included: the
/// answer to a <see cref="CatchUp"/> from before what the learner still retains.</summary>
public sealed record StateTransfer(long NextToApply, byte[] State) : IPaxosMessage
{
    /// <summary>The configuration epochs that govern slots from <see cref="NextToApply"/> on (empty: the seed's).</summary>
    public ImmutableArray<MembershipEpoch> Configurations { get; init; } = ImmutableArray<MembershipEpoch>.Empty;

    public bool Equals(StateTransfer? other) =>
        other is not null && NextToApply == other.NextToApply && State.AsSpan().SequenceEqual(other.State) &&
        Configurations.SequenceEqual(other.Configurations);

    public override int GetHashCode() => HashCode.Combine(NextToApply, State.Length);
}

/// <summary>An acceptor starting with an empty journal asks the others what they hold, before it votes;
/// <paramref name="Full"/>: with their entries (to rebuild); <paramref name="Join"/>: and record it as a voter.</summary>
public sealed record StateQuery(int From, bool Full, bool Join) : IPaxosMessage;

/// <summary>An acceptor's answer to a <see cref="StateQuery"/>: its durable state (entries and known voters
/// only when <paramref name="Full"/>, i.e. when the asker is rebuilding itself), and whether it knows the asker
/// as a voter that joined before (<paramref name="KnowsAsker"/>).</summary>
public sealed record StateReport(int Acceptor, bool Full, Ballot Promised, long CompactedBelow, ImmutableArray<AcceptedEntry> Entries,
    bool KnowsAsker) : IPaxosMessage
{
    /// <summary>The voters this acceptor knows of (filled only when <see cref="Full"/>).</summary>
    public ImmutableArray<int> KnownVoters { get; init; } = ImmutableArray<int>.Empty;

    public bool Equals(StateReport? other) =>
        other is not null && Acceptor == other.Acceptor && Full == other.Full && Promised == other.Promised &&
        CompactedBelow == other.CompactedBelow && Entries.SequenceEqual(other.Entries) && KnowsAsker == other.KnowsAsker &&
        KnownVoters.SequenceEqual(other.KnownVoters);

    public override int GetHashCode() => HashCode.Combine(Acceptor, Promised, CompactedBelow, Entries.Length);

}

/// <summary>A proposer that starts with no durable round (a new node, or one that lost its journal) asks the
/// acceptors what they have promised before its first Prepare (see <see cref="Proposers.Proposer"/>).
/// <paramref name="Nonce"/> is drawn at random by each incarnation, so an answer meant for an earlier one is
/// not mistaken for a fresh one.</summary>
public sealed record RoundQuery(int Proposer, long Nonce) : IPaxosMessage;

/// <summary>An acceptor's answer to a <see cref="RoundQuery"/>: the highest ballot it has promised. Only an
/// acceptor whose state is its own answers (a voting one): a blank promise from one that lost its state
/// would be worthless.</summary>
public sealed record RoundReport(int Acceptor, Ballot Promised, long Nonce) : IPaxosMessage;

/// <summary>A follower's proposer asks the leader for a read point on behalf of the read <paramref name="Id"/> that
/// <paramref name="Node"/>'s shell is serving (see <see cref="ReadIndex"/>). <paramref name="Hops"/>: proposers it has
/// reached so far (1 when sent by the asking node); a member that does not lead passes it on to the leader it knows while
/// below the bound, and the leader answers <paramref name="Node"/> directly.</summary>
public sealed record ReadIndexRequest(int Node, long Id, int Hops = 1) : IPaxosMessage;

/// <summary>The leader's answer to a <see cref="ReadIndexRequest"/>: it confirmed its ballot
/// <paramref name="Ballot"/> with a majority after the request arrived, so every slot chosen before the read was issued
/// is below <paramref name="Point"/>. The follower serves the read once its own learner applied every slot below it.</summary>
public sealed record ReadIndexReply(long Id, long Point, Ballot Ballot) : IPaxosMessage;

/// <summary>A leader's read confirmation round: "have you promised a ballot above <paramref name="Ballot"/>?" Answered
/// with <see cref="ReadConfirmed"/> (no) or a <see cref="Nack"/> (yes). <paramref name="Round"/> tells rounds apart.
/// Nothing is written: the round proves the leader still led when the reads waiting for it were issued.</summary>
public sealed record ReadConfirm(Ballot Ballot, long Round) : IPaxosMessage;

/// <summary>An acceptor's answer to a <see cref="ReadConfirm"/>: at the time it answered it had promised nothing above
/// <paramref name="Ballot"/>.</summary>
public sealed record ReadConfirmed(Ballot Ballot, long Round, int Acceptor) : IPaxosMessage;
