using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests;

/// <summary>Small values and a recording state machine shared by the specs.</summary>
internal static class TestValues
{
    /// <summary>A one-command slot value whose command is the four bytes of <paramref name="n"/>.</summary>
    public static SlotValue Cmd(int n) => SlotValue.Of(BitConverter.GetBytes(n));

    public static byte[] Bytes(int n) => BitConverter.GetBytes(n);

    public static int AsInt(ReadOnlyMemory<byte> command) => BitConverter.ToInt32(command.Span);

    public static QuorumSet Three => new([1, 2, 3]);
}

/// <summary>Records every apply, in order.</summary>
internal sealed class RecordingStateMachine : IStateMachine
{
    public List<(long Slot, SlotValue Value)> Applied { get; } = new();

    public void Apply(long slot, SlotValue value) => Applied.Add((slot, value));
}
