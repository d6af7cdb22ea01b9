using System.Numerics;

namespace PaxosActors.Core.Wire;

/// <summary>
/// LEB128 varints and zig-zag: the integer encoding of every binary format of the project (the Paxos
/// serializer's messages and journal events, the key-value store's commands and snapshots).
/// </summary>
/// <remarks>
/// An unsigned value is written 7 bits a byte, least significant group first, the high bit set on every byte
/// but the last: 0..127 take one byte, <see cref="ulong.MaxValue"/> takes <see cref="MaxLength"/>. A signed value
/// is zig-zag mapped first (0, -1, 1, -2, ... to 0, 1, 2, 3, ...) so that small negative numbers stay short.
/// Reading accepts exactly what fits in 64 bits: the tenth byte may only carry bit 63.
/// </remarks>
public static class Varint
{
    /// <summary>The longest encoding of a 64-bit value.</summary>
    public const int MaxLength = 10;

    /// <summary>How many bytes <paramref name="value"/> takes: one per started group of 7 bits, one for 0.</summary>
    public static int Length(ulong value) => (70 - BitOperations.LeadingZeroCount(value | 1)) / 7;

    /// <summary>How many bytes the zig-zag encoding of <paramref name="value"/> takes.</summary>
    public static int SignedLength(long value) => Length(ZigZag(value));

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Length"/>.</exception>
    public static int Write(Span<byte> destination, ulong value)
    {
        if (destination.Length < MaxLength && destination.Length < Length(value))
            throw new ArgumentException($"a varint of {Length(value)} byte(s) does not fit in {destination.Length}", nameof(destination));
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>Writes the zig-zag encoding of <paramref name="value"/>; returns the bytes written.</summary>
    public static int WriteSigned(Span<byte> destination, long value) => Write(destination, ZigZag(value));

    /// <summary>Why a varint could not be read.</summary>
    public enum Status
    {
        Ok,
        /// <summary>The input ended before a byte without the continuation bit.</summary>
        Truncated,
        /// <summary>The encoding goes on past 64 bits.</summary>
        TooLong,
    }

    /// <summary>Reads one varint from the start of <paramref name="source"/>, without throwing: for readers that
    /// report malformed input in their own terms. On success <paramref name="length"/> is the bytes it took.</summary>
    public static Status TryRead(ReadOnlySpan<byte> source, out ulong value, out int length)
    {
        value = 0;
        for (int i = 0; i < MaxLength; i++)
        {
            if (i >= source.Length)
            {
                length = i;
                return Status.Truncated;
            }
            byte b = source[i];
            // The tenth byte holds only bit 63; anything more does not fit in 64 bits.
            if (i == MaxLength - 1 && b > 1)
            {
                length = i + 1;
                value = 0;
                return Status.TooLong;
            }
            value |= (ulong)(b & 0x7F) << (7 * i);
            if (b < 0x80)
            {
                length = i + 1;
                return Status.Ok;
            }
        }
        // Unreachable: the tenth byte either ends the varint or is too large.
        length = MaxLength;
        value = 0;
        return Status.TooLong;
    }

    /// <summary>Reads one varint from the start of <paramref name="source"/>; <paramref name="length"/> is the bytes it took.</summary>
    /// <exception cref="FormatException">The input ends inside the varint, or it is longer than 64 bits.</exception>
    public static ulong Read(ReadOnlySpan<byte> source, out int length) =>
        TryRead(source, out ulong value, out length) switch
        {
            Status.Ok => value,
            Status.Truncated => throw new FormatException(length == 0
                ? "truncated varint: no bytes to read"
                : $"truncated varint: the input ends after {length} byte(s), each with the continuation bit set"),
            _ => throw new FormatException($"malformed varint: longer than 64 bits (byte {length} is 0x{source[length - 1]:X2})"),
        };

    /// <summary>Reads one zig-zag encoded varint; see <see cref="Read"/>.</summary>
    public static long ReadSigned(ReadOnlySpan<byte> source, out int length) => UnZigZag(Read(source, out length));
}
