using System.Buffers.Binary;
using System.Text;
using PaxosActors.Core.Wire;

namespace PaxosActors.Kv.Binary;

/// <summary>A growable buffer that writes the little-endian, varint-based format shared by commands and snapshots.</summary>
internal sealed class ByteWriter
{
    // Strict: a key that is not valid UTF-16 (a lone surrogate) must fail at the client,
    // not be silently replaced by U+FFFD and collide with another key.
    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private byte[] _buffer;
    private int _length;

    public ByteWriter(int capacity = 64) => _buffer = new byte[Math.Max(16, capacity)];

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => Written.ToArray();

    public void WriteByte(byte b)
    {
        Reserve(1);
        _buffer[_length++] = b;
    }

    /// <summary>Unsigned LEB128 (<see cref="Varint"/>).</summary>
    public void WriteVarUInt64(ulong value)
    {
        Reserve(Varint.MaxLength);
        _length += Varint.Write(_buffer.AsSpan(_length), value);
    }

    /// <summary>ZigZag, so small negative numbers (AppliedSlot = -1) stay one byte.</summary>
    public void WriteVarInt64(long value) => WriteVarUInt64(Varint.ZigZag(value));

    public void WriteLengthPrefixed(ReadOnlySpan<byte> bytes)
    {
        WriteVarUInt64((ulong)bytes.Length);
        WriteRaw(bytes);
    }

    public void WriteString(string s)
    {
        int count = StrictUtf8.GetByteCount(s);
        WriteVarUInt64((ulong)count);
        Reserve(count);
        _length += StrictUtf8.GetBytes(s, _buffer.AsSpan(_length));
    }

    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public void WriteUInt64LittleEndian(ulong value)
    {
        Reserve(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    private void Reserve(int extra)
    {
        if (_buffer.Length - _length >= extra) return;
        int size = Math.Max(_buffer.Length * 2, _length + extra);
        Array.Resize(ref _buffer, size);
    }
}
