using System.Text;

namespace PaxosActors.Kv;

/// <summary>What applying one <see cref="KvCommand"/> produced; immutable, compared by content.</summary>
/// <remarks>
/// Put → <c>Ok(existed)</c>; Delete → <c>Ok(existed)</c>; CompareAndSet → <c>Ok(existed)</c> when it swapped, or
/// <c>Failed(current)</c> carrying the value it found instead (null: absent); Get → <c>Found(value)</c> (null: absent).
/// Invariant: <see cref="Value"/> is set only if <see cref="Existed"/>.
/// </remarks>
public sealed class KvResult : IEquatable<KvResult>
{
    private KvResult(bool isOk, bool existed, ReadOnlyMemory<byte>? value)
    {
        IsOk = isOk;
        Existed = existed;
        Value = value;
    }

    /// <summary>The command took effect (a CompareAndSet swapped; every other command always succeeds).</summary>
    public static KvResult Ok(bool existed) => existed ? OkExisted : OkAbsent;

    /// <summary>A CompareAndSet found <paramref name="current"/> (null: the key was absent) instead of what it expected.</summary>
    public static KvResult Failed(ReadOnlyMemory<byte>? current) => new(false, current.HasValue, current);

    /// <summary>A Get's answer (null: the key is absent).</summary>
    public static KvResult Found(ReadOnlyMemory<byte>? value) => new(true, value.HasValue, value);

    // byte[] (and even a bare null inside a conditional) converts implicitly to ReadOnlyMemory<byte>, and a null
    // array becomes an empty, *present* value. These overloads keep a null array meaning "absent".

    /// <summary>A CompareAndSet found <paramref name="current"/> (null: the key was absent) instead of what it expected.</summary>
    public static KvResult Failed(byte[]? current) => Failed(AbsentIfNull(current));

    /// <summary>A Get's answer (null: the key is absent).</summary>
    public static KvResult Found(byte[]? value) => Found(AbsentIfNull(value));

    private static ReadOnlyMemory<byte>? AbsentIfNull(byte[]? bytes) => bytes is null ? (ReadOnlyMemory<byte>?)null : bytes;

    private static readonly KvResult OkExisted = new(true, true, null);
    private static readonly KvResult OkAbsent = new(true, false, null);

    /// <summary>False only for a CompareAndSet whose expectation did not hold.</summary>
    public bool IsOk { get; }

    /// <summary>Whether the key held a value when the command ran.</summary>
    public bool Existed { get; }

    /// <summary>The value a Get read, or the current value a failed CompareAndSet saw; null otherwise.</summary>
    public ReadOnlyMemory<byte>? Value { get; }

    /// <summary>For a CompareAndSet: whether it swapped.</summary>
    public bool Swapped => IsOk;

    public bool Equals(KvResult? other) =>
        other is not null && IsOk == other.IsOk && Existed == other.Existed && KvCommand.SameBytes(Value, other.Value);

    public override bool Equals(object? obj) => Equals(obj as KvResult);

    public override int GetHashCode() => HashCode.Combine(IsOk, Existed, Value?.Length ?? -1);

    public override string ToString()
    {
        var text = new StringBuilder(IsOk ? "Ok" : "Failed");
        text.Append(Existed ? "(existed" : "(absent");
        if (Value is { } v) text.Append($", {v.Length} B");
        return text.Append(')').ToString();
    }
}
