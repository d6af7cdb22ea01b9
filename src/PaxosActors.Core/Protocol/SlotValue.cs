using System.Collections.Immutable;

namespace PaxosActors.Core.Protocol;

/// <summary>
/// The value of one log slot: a batch of opaque client commands, or a change of configuration (<see cref="Change"/>,
/// alone in its slot). An empty batch is a leader's no-op, used to fill a gap. Equality is by content, so two learners
/// can compare what they chose.
/// </summary>
public sealed class SlotValue : IEquatable<SlotValue>
{
    /// <summary>The no-op a new leader proposes for a slot no promise reported a value for.</summary>
    public static readonly SlotValue NoOp = new(ImmutableArray<ReadOnlyMemory<byte>>.Empty);

    public SlotValue(ImmutableArray<ReadOnlyMemory<byte>> commands) => Commands = commands;

    private SlotValue(Reconfiguration change)
    {
        Commands = ImmutableArray<ReadOnlyMemory<byte>>.Empty;
        Change = change;
    }

    /// <summary>A slot value that changes the configuration (and carries no command).</summary>
    public static SlotValue Reconfigure(Reconfiguration change) => new(change);

    /// <summary>The change of configuration this slot carries, if it is one.</summary>
    public Reconfiguration? Change { get; }

    public static SlotValue Of(params byte[][] commands) =>
        new(commands.Select(c => (ReadOnlyMemory<byte>)c).ToImmutableArray());

    /// <summary>The commands, in the order they are applied.</summary>
    public ImmutableArray<ReadOnlyMemory<byte>> Commands { get; }

    public bool IsNoOp => Commands.IsEmpty && Change is null;

    /// <summary>Payload bytes, for batch-size limits.</summary>
    public int ByteSize
    {
        get
        {
            int n = 0;
            foreach (var c in Commands) n += c.Length;
            return n;
        }
    }

    public bool Equals(SlotValue? other)
    {
        if (ReferenceEquals(this, other)) return true;
        if (other is null || other.Commands.Length != Commands.Length) return false;
        if (!Equals(Change, other.Change)) return false;
        for (int i = 0; i < Commands.Length; i++)
            if (!Commands[i].Span.SequenceEqual(other.Commands[i].Span)) return false;
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as SlotValue);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Commands.Length);
        hash.Add(Change);
        foreach (var c in Commands) hash.AddBytes(c.Span);
        return hash.ToHashCode();
    }

    public override string ToString() =>
        Change is { } c ? $"reconfigure to {c.Next}" : IsNoOp ? "no-op" : $"[{Commands.Length} command(s), {ByteSize} B]";
}
