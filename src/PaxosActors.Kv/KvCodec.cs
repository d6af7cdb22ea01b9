using System.Text;
using PaxosActors.Kv.Binary;

namespace PaxosActors.Kv;

/// <summary>The compact, versioned binary form of a <see cref="KvCommand"/>: what a client puts into a log slot.</summary>
/// <remarks>
/// Format version 1, all integers varints (LEB128; signed ones ZigZag):
/// <code>
/// version:u8 = 1 | op:u8 (1 Put, 2 Delete, 3 CompareAndSet, 4 Get) | clientId:varuint | seq:varint
/// | seq - ackedBelow:varuint | key: len:varuint utf8[len]
/// | Put: value: len:varuint bytes[len]
/// | CompareAndSet: flags:u8 (bit 0 expected present, bit 1 new present) [expected: len bytes] [new: len bytes]
/// </code>
/// AckedBelow travels as its distance below Seq: it never exceeds Seq, and a client acknowledging as it goes keeps
/// the distance to a byte. The version byte comes first so a later format can be told apart in a log that mixes both.
/// </remarks>
public static class KvCodec
{
    /// <summary>The format <see cref="Encode"/> writes and the only one <see cref="Decode"/> reads.</summary>
    public const byte FormatVersion = 1;

    private const byte OpPut = 1, OpDelete = 2, OpCompareAndSet = 3, OpGet = 4;
    private const byte HasExpected = 1, HasNew = 2;
    private const string What = "KV command";

    public static byte[] Encode(KvCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var w = new ByteWriter(32 + command.Key.Length + command switch
        {
            KvCommand.Put p => p.Value.Length,
            KvCommand.CompareAndSet c => (c.Expected?.Length ?? 0) + (c.New?.Length ?? 0),
            _ => 0,
        });
        w.WriteByte(FormatVersion);
        w.WriteByte(command switch
        {
            KvCommand.Put => OpPut,
            KvCommand.Delete => OpDelete,
            KvCommand.CompareAndSet => OpCompareAndSet,
            KvCommand.Get => OpGet,
            _ => throw new ArgumentException($"Unknown command type {command.GetType()}.", nameof(command)),
        });
        w.WriteVarUInt64(command.Id.ClientId);
        w.WriteVarInt64(command.Id.Seq);
        w.WriteVarUInt64(unchecked((ulong)(command.Id.Seq - command.AckedBelow)));
        try
        {
            w.WriteString(command.Key);
        }
        catch (EncoderFallbackException e)
        {
            throw new ArgumentException("The key is not valid UTF-16 (a lone surrogate?) and cannot be encoded as UTF-8.", nameof(command), e);
        }
        switch (command)
        {
            case KvCommand.Put put:
                w.WriteLengthPrefixed(put.Value.Span);
                break;
            case KvCommand.CompareAndSet cas:
                w.WriteByte((byte)((cas.Expected.HasValue ? HasExpected : 0) | (cas.New.HasValue ? HasNew : 0)));
                if (cas.Expected is { } expected) w.WriteLengthPrefixed(expected.Span);
                if (cas.New is { } replacement) w.WriteLengthPrefixed(replacement.Span);
                break;
        }
        return w.ToArray();
    }

    /// <summary>Decodes one command. Values are copied, so the command does not alias <paramref name="bytes"/>.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed command of a known version.</exception>
    public static KvCommand Decode(ReadOnlySpan<byte> bytes)
    {
        var r = new ByteReader(bytes, What);
        byte version = r.ReadByte("format version");
        if (version != FormatVersion) throw r.Malformed($"unknown format version {version} (this build reads {FormatVersion})");
        byte op = r.ReadByte("operation");
        if (op is < OpPut or > OpGet) throw r.Malformed($"unknown operation {op}");
        ulong clientId = r.ReadVarUInt64("client id");
        long seq = r.ReadVarInt64("seq");
        ulong distance = r.ReadVarUInt64("acked-below distance");
        long ackedBelow = unchecked(seq - (long)distance);
        // Subtraction wraps exactly when the true value would be below long.MinValue, and the wrapped result is then above seq.
        if (ackedBelow > seq) throw r.Malformed($"acked-below distance {distance} reaches below the smallest seq");
        var id = new CommandId(clientId, seq);
        string key = r.ReadString("key");

        KvCommand command;
        switch (op)
        {
            case OpPut:
                command = new KvCommand.Put(id, ackedBelow, key, r.ReadLengthPrefixed("value"));
                break;
            case OpDelete:
                command = new KvCommand.Delete(id, ackedBelow, key);
                break;
            case OpCompareAndSet:
                byte flags = r.ReadByte("compare-and-set flags");
                if ((flags & ~(HasExpected | HasNew)) != 0) throw r.Malformed($"unknown compare-and-set flags 0x{flags:X2}");
                // Typed as ReadOnlyMemory<byte>? on purpose: a null byte[] would convert to an empty, present value.
                ReadOnlyMemory<byte>? expected = (flags & HasExpected) != 0 ? r.ReadLengthPrefixed("expected value") : (ReadOnlyMemory<byte>?)null;
                ReadOnlyMemory<byte>? replacement = (flags & HasNew) != 0 ? r.ReadLengthPrefixed("new value") : (ReadOnlyMemory<byte>?)null;
                command = new KvCommand.CompareAndSet(id, ackedBelow, key, expected, replacement);
                break;
            default:
                command = new KvCommand.Get(id, ackedBelow, key);
                break;
        }
        r.EnsureEnd();
        return command;
    }

    private const byte ResultOk = 1, ResultExisted = 2, ResultHasValue = 4;
    private const string ResultWhat = "KV result";
    private static readonly ReadOnlyMemory<byte> OkExisted = new byte[] { ResultOk | ResultExisted };
    private static readonly ReadOnlyMemory<byte> OkAbsent = new byte[] { ResultOk };

    /// <summary>
    /// A <see cref="KvResult"/> as bytes: what the applied stream reports as a KV command's result.
    /// <code>flags:u8 (1 ok, 2 existed, 4 has value) [value: len:varuint bytes[len]]</code>
    /// </summary>
    public static byte[] EncodeResult(KvResult result) => ResultBytes(result).ToArray();

    /// <summary><see cref="EncodeResult"/> without a copy for the common answers (shared, read-only).</summary>
    internal static ReadOnlyMemory<byte> ResultBytes(KvResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (result.Value is not { } v) return result.IsOk ? result.Existed ? OkExisted : OkAbsent : new[] { result.Existed ? ResultExisted : (byte)0 };
        var w = new ByteWriter(v.Length + 8);
        w.WriteByte((byte)((result.IsOk ? ResultOk : 0) | ResultExisted | ResultHasValue));
        w.WriteLengthPrefixed(v.Span);
        return w.ToArray();
    }

    /// <summary>Reads what <see cref="EncodeResult"/> wrote.</summary>
    /// <exception cref="FormatException">The bytes are not a well-formed result.</exception>
    public static KvResult DecodeResult(ReadOnlySpan<byte> bytes)
    {
        var r = new ByteReader(bytes, ResultWhat);
        byte flags = r.ReadByte("flags");
        if ((flags & ~(ResultOk | ResultExisted | ResultHasValue)) != 0) throw r.Malformed($"unknown flags 0x{flags:X2}");
        bool isOk = (flags & ResultOk) != 0, existed = (flags & ResultExisted) != 0;
        ReadOnlyMemory<byte>? value = (flags & ResultHasValue) != 0 ? r.ReadLengthPrefixed("value") : (ReadOnlyMemory<byte>?)null;
        r.EnsureEnd();
        if (value.HasValue && !existed) throw r.Malformed("a value for an absent key");
        return isOk
            ? value.HasValue ? KvResult.Found(value) : KvResult.Ok(existed)
            : KvResult.Failed(value);
    }
}
