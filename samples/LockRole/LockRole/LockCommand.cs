using System.Text.Json;
using System.Text.Json.Serialization;

namespace Samples.Locks;

/// <summary>
/// A command of the locks state machine, as it travels in the log (JSON, snake_case). <paramref name="AtMs"/> is the
/// proposing node's clock when the command was first submitted (a retry carries the same): the only time the state
/// machine ever sees, so every replica decides expiry alike.
/// </summary>
public sealed record LockCommand(string Op, string Lock, string? Owner, long? Token, long? TtlMs, long AtMs)
{
    public const string Acquire = "acquire", Release = "release", Read = "read";
}

/// <summary>What a lock command did (<paramref name="Ok"/>: acquired, released, or read), and the lock as it now is:
/// its holder, fencing token and expiry (all null when it is free). <paramref name="Error"/>: a command the state
/// machine refused (malformed).</summary>
public sealed record LockResult(bool Ok, string Lock, string? Owner, long? Token, long? ExpiresAtMs, string? Error = null)
{
    public bool Held => Owner is not null;
}

/// <summary>The JSON of commands, results and snapshots: snake_case, no indentation, so equal values are equal bytes.</summary>
public static class LockJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static byte[] Encode<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    public static T Decode<T>(ReadOnlySpan<byte> bytes) =>
        JsonSerializer.Deserialize<T>(bytes, Options) ?? throw new JsonException($"a null {typeof(T).Name}");
}
