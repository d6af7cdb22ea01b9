using System.Text.Json;
using System.Text.Json.Serialization;

namespace PaxosActors.Coordination;

/// <summary>
/// A command of the lease table, as it travels in the log (JSON). <c>acquire</c> takes a free lease (or renews the
/// caller's own), <c>renew</c> acts only for the holder with its token, <c>release</c> only for the holder with its token
/// at the <see cref="Version"/> it last saw, <c>expire</c> frees a lease only if it is still at <see cref="Version"/>
/// (nobody renewed it since the expiring node started counting), and <c>read</c> answers the lease as it is.
/// </summary>
public sealed record LeaseCommand(string Op, string Lease, string? Owner = null, long? Token = null, long? TtlMs = null, long? Version = null)
{
    public const string Acquire = "acquire", Renew = "renew", Release = "release", Expire = "expire", Read = "read";
}

/// <summary>What a lease command did (<paramref name="Ok"/>) and the lease as it now is: its holder, fencing token,
/// version (one more with every grant or renewal), time to live, and the slot that granted it. Null holder: free.</summary>
public sealed record LeaseResult(bool Ok, string Lease, string? Owner, long? Token, long? Version, long? TtlMs, long? GrantedInSlot,
    string? Error = null);

/// <summary>The bytes of commands, results and snapshots: compact JSON, deterministic for equal values.</summary>
public static class LeaseJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Options) ?? throw new JsonException($"a null {typeof(T).Name}");
}
