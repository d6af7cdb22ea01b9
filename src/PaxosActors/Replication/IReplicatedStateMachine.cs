namespace PaxosActors.Replication;

/// <summary>
/// One role's share of the replicated state: the commands addressed to it by name, applied in log order on every
/// learner node. Registered in <see cref="Hosting.INodeRole.Configure"/> with
/// <see cref="StateMachineRegistry.Register"/>; the node's learner applies every chosen slot to all of them at once
/// (<see cref="CompositeStateMachine"/>) and snapshots them together, so none can turn snapshots or state transfer off.
/// </summary>
/// <remarks>
/// Determinism is the whole contract: on every replica the same state and the same command give the same new state
/// and the same result. No clock, no random, no I/O, no reading of anything outside the state and the command (a
/// time the decision needs travels inside the command). Called from the learner's thread only, one call at a time;
/// another thread that wants to read the state reads a view the machine publishes (an immutable copy, say).
/// </remarks>
public interface IReplicatedStateMachine
{
    /// <summary>Applies one command addressed to this machine and returns its result (<see cref="CommandResult.Skip"/>:
    /// the command had no effect and is left out of the applied stream). An exception is logged and the command skipped
    /// on this node; a machine must not throw.</summary>
    CommandResult Apply(ReplicatedCommand command);

    /// <summary>After every applied slot, whether or not it held a command for this machine: for state that ages by
    /// slots (session expiry, say). Default: nothing.</summary>
    void OnSlotApplied(long slot) { }

    /// <summary>The whole state as bytes, deterministic for the same state. Taken every <c>paxos.snapshot-every</c>
    /// slots and when a far-behind peer needs the whole state.</summary>
    byte[] TakeSnapshot();

    /// <summary>Replaces the whole state with one <see cref="TakeSnapshot"/> returned (on this node or another, by this
    /// version of the machine or an earlier one). Throws <see cref="FormatException"/> for bytes it cannot read.</summary>
    void RestoreSnapshot(ReadOnlySpan<byte> state);
}

/// <summary>
/// A replicated state machine that also sees every command applied to the <em>other</em> machines, after its owner
/// applied it, with its result: for state derived from the whole log (an audit counter, say), which is then snapshotted,
/// restored and transferred like any other. Retries and skipped commands are not observed.
/// </summary>
public interface IObservingStateMachine : IReplicatedStateMachine
{
    void Observe(AppliedCommand command, long slot);
}

/// <summary>One command as its state machine gets it.</summary>
/// <param name="Slot">The log slot it was chosen in.</param>
/// <param name="Index">Its place among the slot's commands (all machines counted).</param>
/// <param name="Payload">The bytes the role proposed, without the frame.</param>
/// <param name="Id">Its client session and sequence number, when it was submitted through <see cref="CommandClient"/>
/// (applied once however often it was retried); null for a command sent without a session.</param>
public readonly record struct ReplicatedCommand(long Slot, int Index, ReadOnlyMemory<byte> Payload, ClientCommandId? Id);

/// <summary>A command's client session and its sequence number in it: a retry carries the same one.</summary>
public readonly record struct ClientCommandId(ulong Session, long Seq)
{
    public override string ToString() => $"{Session:x16}#{Seq}";
}

/// <summary>What applying one command gave: its result bytes, or <see cref="Skip"/>.</summary>
public readonly struct CommandResult
{
    private CommandResult(ReadOnlyMemory<byte> bytes, bool skipped)
    {
        Bytes = bytes;
        Skipped = skipped;
    }

    /// <summary>The command had no effect: a retry the machine recognised itself (a machine with client sessions of its
    /// own, as the KV store), or bytes it could not decode. It is left out of the applied stream and not observed.</summary>
    public static CommandResult Skip { get; } = new(ReadOnlyMemory<byte>.Empty, true);

    /// <summary>No result beyond "applied".</summary>
    public static CommandResult Empty { get; } = new(ReadOnlyMemory<byte>.Empty, false);

    public static CommandResult Of(ReadOnlyMemory<byte> bytes) => new(bytes, false);

    public static implicit operator CommandResult(byte[] bytes) => Of(bytes);

    /// <summary>The result, as the submitter and the applied stream get it. The machine must not change it afterwards.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }

    public bool Skipped { get; }
}
