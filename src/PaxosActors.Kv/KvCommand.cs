namespace PaxosActors.Kv;

/// <summary>A client command as it travels through the log: one key-value operation plus the session bookkeeping that makes retries exactly-once.</summary>
/// <remarks>
/// The hierarchy is closed (the constructor is private protected) because <see cref="KvCodec"/> must know every case.
/// Byte values are <see cref="ReadOnlyMemory{T}"/>, which compares by reference, so the cases that carry bytes
/// define content equality themselves: a decoded command equals the one that was encoded.
/// </remarks>
public abstract record KvCommand
{
    private protected KvCommand(CommandId id, long ackedBelow, string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        // A client cannot have acknowledged the command it is still sending: it would be dropped as stale
        // and its caller would wait forever.
        if (ackedBelow > id.Seq)
            throw new ArgumentOutOfRangeException(nameof(ackedBelow), ackedBelow, $"AckedBelow must not exceed the command's own seq {id.Seq}.");
        Id = id;
        AckedBelow = ackedBelow;
        Key = key;
    }

    /// <summary>Which client and which of its commands.</summary>
    public CommandId Id { get; }

    /// <summary>The client promises never to retry a seq below this, so the state machine may forget their results.</summary>
    public long AckedBelow { get; }

    /// <summary>The key the command reads or writes.</summary>
    public string Key { get; }

    /// <summary>Sets <see cref="KvCommand.Key"/> to <see cref="Value"/>.</summary>
    public sealed record Put(CommandId Id, long AckedBelow, string Key, ReadOnlyMemory<byte> Value) : KvCommand(Id, AckedBelow, Key)
    {
        public bool Equals(Put? other) => base.Equals(other) && Value.Span.SequenceEqual(other!.Value.Span);

        public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Value.Length);
    }

    /// <summary>Removes <see cref="KvCommand.Key"/>.</summary>
    public sealed record Delete(CommandId Id, long AckedBelow, string Key) : KvCommand(Id, AckedBelow, Key);

    /// <summary>
    /// Sets <see cref="KvCommand.Key"/> to <see cref="New"/> only if it currently holds <see cref="Expected"/>.
    /// A null <see cref="Expected"/> means "the key must be absent"; a null <see cref="New"/> means "delete it".
    /// </summary>
    /// <remarks>Pass absent as a null <c>ReadOnlyMemory&lt;byte&gt;?</c>: a null <c>byte[]</c> variable converts implicitly
    /// to an empty, present value.</remarks>
    public sealed record CompareAndSet(CommandId Id, long AckedBelow, string Key, ReadOnlyMemory<byte>? Expected, ReadOnlyMemory<byte>? New)
        : KvCommand(Id, AckedBelow, Key)
    {
        public bool Equals(CompareAndSet? other) =>
            base.Equals(other) && SameBytes(Expected, other!.Expected) && SameBytes(New, other.New);

        public override int GetHashCode() => HashCode.Combine(base.GetHashCode(), Expected?.Length ?? -1, New?.Length ?? -1);
    }

    /// <summary>Reads <see cref="KvCommand.Key"/> through the log, so the read is linearizable.</summary>
    public sealed record Get(CommandId Id, long AckedBelow, string Key) : KvCommand(Id, AckedBelow, Key);

    internal static bool SameBytes(ReadOnlyMemory<byte>? a, ReadOnlyMemory<byte>? b) =>
        a.HasValue == b.HasValue && (!a.HasValue || a.Value.Span.SequenceEqual(b!.Value.Span));
}
