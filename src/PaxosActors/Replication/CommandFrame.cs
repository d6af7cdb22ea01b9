using System.Text.RegularExpressions;

namespace PaxosActors.Replication;

/// <summary>A command as it travels in a log slot: framed with the name of the state machine it belongs to and, when
/// it was submitted through a client session, its session, sequence number and acknowledgement floor.</summary>
/// <param name="NameUtf8">The state machine's name, UTF-8.</param>
/// <param name="Payload">The role's own bytes.</param>
/// <param name="Id">The client session and sequence number; null without a session.</param>
/// <param name="AckedBelow">With a session: its client will never retry a sequence number below this.</param>
public readonly record struct FramedCommand(ReadOnlyMemory<byte> NameUtf8, ReadOnlyMemory<byte> Payload, ClientCommandId? Id, long AckedBelow)
{
    public string StateMachine => WireOut.StrictUtf8.GetString(NameUtf8.Span);
}

/// <summary>
/// The frame around every command in the log (the core sees opaque bytes; this is the shell's codec). Format 1:
/// <code>
/// marker:u8 = 0xF1 | flags:u8 (bit 0: session) | name: len:varuint utf8[len]
/// | [session:varuint | seq:varint | seq - ackedBelow:varuint]      (with a session)
/// | payload: every byte to the end
/// </code>
/// The marker is not a valid first byte of the KV store's own format (version 1), so the unframed KV commands of a
/// log written before framing are told apart (<see cref="IsFramed"/>).
/// </summary>
public static partial class CommandFrame
{
    public const byte Marker = 0xF1;
    private const byte HasSession = 1;
    private const string What = "command frame";

    /// <summary>The longest state machine name, in UTF-8 bytes.</summary>
    public const int MaxNameBytes = 64;

    /// <summary>Frames <paramref name="payload"/> for the state machine <paramref name="stateMachine"/>, without a session.</summary>
    public static byte[] Encode(string stateMachine, ReadOnlySpan<byte> payload) => Encode(stateMachine, payload, null, 0);

    /// <summary>Frames <paramref name="payload"/> for <paramref name="stateMachine"/> with its client session
    /// <paramref name="id"/> (if any) and the session's acknowledgement floor.</summary>
    public static byte[] Encode(string stateMachine, ReadOnlySpan<byte> payload, ClientCommandId? id, long ackedBelow)
    {
        ValidateName(stateMachine, nameof(stateMachine));
        if (id is { } i && ackedBelow > i.Seq)
            throw new ArgumentOutOfRangeException(nameof(ackedBelow), ackedBelow, $"must not exceed the command's own seq {i.Seq}");
        var w = new WireOut(payload.Length + stateMachine.Length + 24);
        w.Byte(Marker);
        w.Byte(id is null ? (byte)0 : HasSession);
        w.String(stateMachine);
        if (id is { } s)
        {
            w.UInt64(s.Session);
            w.Int64(s.Seq);
            w.UInt64(unchecked((ulong)(s.Seq - ackedBelow)));
        }
        w.Raw(payload);
        return w.ToArray();
    }

    /// <summary>Whether <paramref name="bytes"/> start like a frame (else: an unframed command of an older log).</summary>
    public static bool IsFramed(ReadOnlySpan<byte> bytes) => bytes.Length > 0 && bytes[0] == Marker;

    /// <exception cref="FormatException">Not a well-formed frame.</exception>
    public static FramedCommand Decode(ReadOnlyMemory<byte> bytes)
    {
        var r = new WireIn(bytes.Span, What);
        if (r.Byte("marker") != Marker) throw r.Malformed("not a command frame");
        byte flags = r.Byte("flags");
        if ((flags & ~HasSession) != 0) throw r.Malformed($"unknown flags 0x{flags:X2}");
        ulong nameLength = r.UInt64("name length");
        if (nameLength is 0 or > MaxNameBytes) throw r.Malformed($"a state machine name of {nameLength} bytes");
        int nameAt = r.Position;
        r.Raw((int)nameLength, "name");
        var name = bytes.Slice(nameAt, (int)nameLength);
        ClientCommandId? id = null;
        long ackedBelow = 0;
        if ((flags & HasSession) != 0)
        {
            ulong session = r.UInt64("session");
            long seq = r.Int64("seq");
            ulong distance = r.UInt64("acked-below distance");
            ackedBelow = unchecked(seq - (long)distance);
            if (ackedBelow > seq) throw r.Malformed($"acked-below distance {distance} reaches below the smallest seq");
            id = new ClientCommandId(session, seq);
        }
        return new FramedCommand(name, bytes[r.Position..], id, ackedBelow);
    }

    /// <summary>A state machine name is 1 to 64 characters of <c>A-Z a-z 0-9 . _ -</c>.</summary>
    public static bool IsValidName(string? name) => name is not null && ValidName().IsMatch(name);

    internal static void ValidateName(string name, string parameter)
    {
        if (!IsValidName(name))
            throw new ArgumentException($"'{name}' is not a state machine name: 1 to {MaxNameBytes} characters of A-Z a-z 0-9 . _ -", parameter);
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ValidName();
}
