using System.Buffers.Binary;
using System.Text;
using PaxosActors.Core.Wire;

namespace PaxosActors.Kv.Binary;

/// <summary>
/// Reads the format <see cref="ByteWriter"/> writes from untrusted bytes. Every read checks what is
/// left first, so malformed input ends in a <see cref="FormatException"/> naming what was being read,
/// and no length prefix can make it allocate more than the input holds.
/// </summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly string _what;
    private int _position;

    public ByteReader(ReadOnlySpan<byte> data, string what)
    {
        _data = data;
        _what = what;
        _position = 0;
    }

    public readonly int Remaining => _data.Length - _position;

    public byte ReadByte(string field)
    {
        if (Remaining < 1) throw Truncated(field);
        return _data[_position++];
    }

    public ulong ReadVarUInt64(string field)
    {
        var status = Varint.TryRead(_data[_position..], out ulong value, out int length);
        _position += length;
        return status switch
        {
            Varint.Status.Ok => value,
            Varint.Status.Truncated => throw Truncated(field),
            _ => throw Malformed($"{field} is a varint longer than 64 bits"),
        };
    }

    public long ReadVarInt64(string field) => Varint.UnZigZag(ReadVarUInt64(field));

    /// <summary>A count of items that each take at least <paramref name="minBytesEach"/> bytes: bounded by what is left.</summary>
    public int ReadCount(string field, int minBytesEach)
    {
        ulong count = ReadVarUInt64(field);
        if (count > (ulong)(Remaining / Math.Max(1, minBytesEach)))
            throw Malformed($"{field} {count} exceeds the {Remaining} byte(s) left");
        return (int)count;
    }

    public ReadOnlySpan<byte> ReadLengthPrefixedSpan(string field)
    {
        int length = ReadCount(field + " length", 1);
        var span = _data.Slice(_position, length);
        _position += length;
        return span;
    }

    public byte[] ReadLengthPrefixed(string field) => ReadLengthPrefixedSpan(field).ToArray();

    public string ReadString(string field)
    {
        var bytes = ReadLengthPrefixedSpan(field);
        try
        {
            return ByteWriter.StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new FormatException($"Malformed {_what}: {field} is not valid UTF-8.", e);
        }
    }

    public ReadOnlySpan<byte> ReadRaw(int count, string field)
    {
        if (Remaining < count) throw Truncated(field);
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    public ulong ReadUInt64LittleEndian(string field) => BinaryPrimitives.ReadUInt64LittleEndian(ReadRaw(8, field));

    public readonly void EnsureEnd()
    {
        if (Remaining != 0) throw Malformed($"{Remaining} unexpected trailing byte(s)");
    }

    public readonly FormatException Malformed(string problem) =>
        new($"Malformed {_what}: {problem} (at byte {_position} of {_data.Length}).");

    private readonly FormatException Truncated(string field) => Malformed($"truncated while reading {field}");
}
