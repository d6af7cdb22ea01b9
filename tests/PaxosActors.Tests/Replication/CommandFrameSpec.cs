using System.Text;
using PaxosActors.Replication;

namespace PaxosActors.Tests.Replication;

/// <summary>The frame every command travels in: the state machine's name, the client session if any, the role's bytes.</summary>
public sealed class CommandFrameSpec
{
    [Fact]
    public void A_frame_carries_the_state_machine_the_payload_and_the_session_back_unchanged()
    {
        byte[] payload = Encoding.UTF8.GetBytes("acquire door");
        var id = new ClientCommandId(0xFEEDFACECAFEBEEF, 42);

        var plain = CommandFrame.Decode(CommandFrame.Encode("locks", payload));
        var session = CommandFrame.Decode(CommandFrame.Encode("locks", payload, id, ackedBelow: 40));

        Assert.Equal("locks", plain.StateMachine);
        Assert.Equal(payload, plain.Payload.ToArray());
        Assert.Null(plain.Id);
        Assert.Equal(("locks", id, 40L), (session.StateMachine, session.Id, session.AckedBelow));
        Assert.Equal(payload, session.Payload.ToArray());
    }

    [Fact]
    public void An_empty_payload_is_a_command_too()
    {
        var frame = CommandFrame.Decode(CommandFrame.Encode("audit", ReadOnlySpan<byte>.Empty));
        Assert.Equal(0, frame.Payload.Length);
    }

    [Fact]
    public void A_frame_is_told_apart_from_an_unframed_KV_command_of_an_older_log()
    {
        Assert.True(CommandFrame.IsFramed(CommandFrame.Encode("kv", [1, 2, 3])));
        Assert.False(CommandFrame.IsFramed([1, 1, 7])); // KV's own format starts with its version, 1
        Assert.False(CommandFrame.IsFramed([]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("slash/ed")]
    [InlineData("ünïcode")]
    public void A_state_machine_name_outside_the_allowed_characters_is_refused(string name)
    {
        Assert.False(CommandFrame.IsValidName(name));
        Assert.Throws<ArgumentException>(() => CommandFrame.Encode(name, [1]));
    }

    [Fact]
    public void An_acknowledgement_above_the_commands_own_seq_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CommandFrame.Encode("kv", [1], new ClientCommandId(1, 5), ackedBelow: 6));
    }

    [Fact]
    public void Malformed_frames_fail_with_a_FormatException_naming_the_problem()
    {
        byte[] good = CommandFrame.Encode("locks", [9, 9], new ClientCommandId(1, 5), 5);
        var truncated = Assert.Throws<FormatException>(() => CommandFrame.Decode(good.AsMemory(0, 5)));
        var flags = Assert.Throws<FormatException>(() => CommandFrame.Decode(new byte[] { CommandFrame.Marker, 0x80, 1, (byte)'a' }));
        var noName = Assert.Throws<FormatException>(() => CommandFrame.Decode(new byte[] { CommandFrame.Marker, 0, 0 }));

        Assert.Contains("command frame", truncated.Message);
        Assert.Contains("unknown flags", flags.Message);
        Assert.Contains("name of 0 bytes", noName.Message);
    }
}
