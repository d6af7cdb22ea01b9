namespace PaxosActors.Kv;

/// <summary>Identifies one client command: the client's session and the command's sequence number in it.</summary>
/// <remarks>A retry reuses the same id; that is what lets the state machine apply it exactly once.</remarks>
public readonly record struct CommandId(ulong ClientId, long Seq)
{
    public override string ToString() => $"{ClientId}#{Seq}";
}
