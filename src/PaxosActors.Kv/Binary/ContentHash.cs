using System.Buffers;
using System.Buffers.Binary;

namespace PaxosActors.Kv.Binary;

/// <summary>
/// The order-independent hash of a key-value store's contents: the sum, modulo 2^64, of a 64-bit hash of each
/// (key, value) entry. Adding or removing one entry adds or subtracts its hash, so a store keeps it up to date in
/// time proportional to the entry, and two stores holding the same entries hold the same sum whatever order they
/// wrote them in. Not for security: it detects replicas that diverge by accident, not an adversary.
/// </summary>
internal static class ContentHash
{
    /// <summary>The hash of one entry: FNV-1a 64 over the length-framed UTF-8 key and value (so ("ab", "c") and
    /// ("a", "bc") differ), finished with a 64-bit mixer so that every input bit reaches every output bit before
    /// entries are summed.</summary>
    public static ulong Entry(string key, ReadOnlySpan<byte> value)
    {
        int keyBytes = ByteWriter.StrictUtf8.GetByteCount(key);
        byte[]? rented = keyBytes > 256 ? ArrayPool<byte>.Shared.Rent(keyBytes) : null;
        try
        {
            Span<byte> utf8 = rented is null ? stackalloc byte[keyBytes] : rented.AsSpan(0, keyBytes);
            ByteWriter.StrictUtf8.GetBytes(key, utf8);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(length, keyBytes);
            ulong h = Fnv1a64.Hash(length);
            h = Fnv1a64.Continue(h, utf8);
            BinaryPrimitives.WriteInt64LittleEndian(length, value.Length);
            h = Fnv1a64.Continue(h, length);
            h = Fnv1a64.Continue(h, value);
            return Mix(h);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>A digest of <paramref name="contents"/> (a sum of <see cref="Entry"/> hashes) at <paramref name="appliedSlot"/>:
    /// replicas agree on it only if they applied the same slots and hold the same entries.</summary>
    public static ulong Digest(long appliedSlot, ulong contents)
    {
        Span<byte> both = stackalloc byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(both, appliedSlot);
        BinaryPrimitives.WriteUInt64LittleEndian(both[8..], contents);
        return Mix(Fnv1a64.Hash(both));
    }

    /// <summary>A bijective 64-bit finaliser (xor-shift and multiply rounds, the constants of SplitMix64).</summary>
    internal static ulong Mix(ulong x)
    {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }
}
