using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests;

/// <summary>Small values shared by the specs.</summary>
internal static class TestValues
{
    /// <summary>A one-command slot value whose command is the four bytes of <paramref name="n"/>.</summary>
    public static SlotValue Cmd(int n) => SlotValue.Of(BitConverter.GetBytes(n));

    public static byte[] Bytes(int n) => BitConverter.GetBytes(n);

    public static int AsInt(ReadOnlyMemory<byte> command) => BitConverter.ToInt32(command.Span);

    public static QuorumSet Three => new([1, 2, 3]);

    public static QuorumSet Five => new([1, 2, 3, 4, 5]);
}
