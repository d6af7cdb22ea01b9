namespace PaxosActors.Kv.Binary;

/// <summary>64-bit FNV-1a: a tiny, dependency-free hash for snapshot checksums and replica digests (not for security).</summary>
internal static class Fnv1a64
{
    private const ulong OffsetBasis = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Hash(ReadOnlySpan<byte> data) => Continue(OffsetBasis, data);

    /// <summary>Continues a hash over more bytes: <c>Continue(Hash(a), b) == Hash(a + b)</c>.</summary>
    public static ulong Continue(ulong hash, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            hash ^= b;
            hash *= Prime;
        }
        return hash;
    }
}
