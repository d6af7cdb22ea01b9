using System.Buffers.Binary;
using System.Text;
using PaxosActors.Core.Wire;

namespace PaxosActors.Replication;

/// <summary>A growable byte buffer for the shell's own formats (command frames, the composite snapshot); integers are
/// <see cref="Varint"/>s.</summary>
internal sealed class WireOut(int capacity = 64)
{
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private byte[] _buffer = new byte[Math.Max(16, capacity)];
    private int _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => Written.ToArray();

    public void Byte(byte b) => Reserve(1)[0] = b;

    public void UInt64(ulong value) => Varint.Write(Reserve(Varint.Length(value)), value);

    public void Int64(long value) => UInt64(Varint.ZigZag(value));

    public void LengthPrefixed(ReadOnlySpan<byte> bytes)
    {
        UInt64((ulong)bytes.Length);
        Raw(bytes);
    }

    public void String(string s)
    {
        int n = StrictUtf8.GetByteCount(s);
        UInt64((ulong)n);
        StrictUtf8.GetBytes(s, Reserve(n));
    }

    public void Raw(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

    public void UInt64LittleEndian(ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(Reserve(8), value);

    /// <summary>Room for <paramref name="n"/> more bytes, counted as written.</summary>
    private Span<byte> Reserve(int n)
    {
        if (_length + n > _buffer.Length) Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + n));
        var span = _buffer.AsSpan(_length, n);
        _length += n;
        return span;
    }
}

/// <summary>Reads what <see cref="WireOut"/> wrote; every problem is a <see cref="FormatException"/> naming the field.</summary>
internal ref struct WireIn(ReadOnlySpan<byte> data, string what)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Position => _position;
    public readonly int Remaining => _data.Length - _position;

    public byte Byte(string field) => Raw(1, field)[0];

    public ulong UInt64(string field)
    {
        var status = Varint.TryRead(_data[_position..], out ulong value, out int length);
        if (status != Varint.Status.Ok) throw Malformed($"{field}: {(status == Varint.Status.Truncated ? "truncated" : "not a valid varint")}");
        _position += length;
        return value;
    }

    public long Int64(string field) => Varint.UnZigZag(UInt64(field));

    /// <summary>A count of items that each take at least <paramref name="minBytesEach"/> bytes: more than the rest of the
    /// input could hold is malformed (and never allocated for).</summary>
    public int Count(string field, int minBytesEach = 1)
    {
        ulong n = UInt64(field);
        if (n > (ulong)(Remaining / Math.Max(1, minBytesEach))) throw Malformed($"{field} {n} is more than the input holds");
        return (int)n;
    }

    public ReadOnlySpan<byte> LengthPrefixed(string field)
    {
        ulong n = UInt64(field);
        if (n > (ulong)Remaining) throw Malformed($"{field}: length {n} runs past the end");
        return Raw((int)n, field);
    }

    public string String(string field)
    {
        var bytes = LengthPrefixed(field);
        try
        {
            return WireOut.StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Malformed($"{field} is not valid UTF-8");
        }
    }

    public ReadOnlySpan<byte> Raw(int count, string field)
    {
        if (count > Remaining) throw Malformed($"{field}: truncated");
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    public ReadOnlySpan<byte> Rest()
    {
        var rest = _data[_position..];
        _position = _data.Length;
        return rest;
    }

    public ulong UInt64LittleEndian(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Raw(8, field));

    public readonly void EnsureEnd()
    {
        if (Remaining != 0) throw Malformed($"{Remaining} unexpected byte(s) at the end");
    }

    public readonly FormatException Malformed(string problem) => new($"Malformed {what} at byte {_position}: {problem}.");
}

/// <summary>FNV-1a, 64 bits: the checksum of the composite snapshot.</summary>
internal static class Fnv1a64
{
    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in data)
        {
            hash ^= b;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
