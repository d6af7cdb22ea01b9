using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests;

/// <summary>
/// The state machine a shell would drive from a learner's Readies: it carries out each <see cref="Ready.Install"/>
/// and <see cref="Ready.Apply"/>, and fails on a slot applied out of order, twice, or after a gap. Its state (for
/// <see cref="StateTransfer"/> and <see cref="Learners.LearnerSnapshot"/>) is the applied log itself, so a learner
/// brought up to date by an install is checked slot by slot too.
/// </summary>
internal sealed class AppliedLog
{
    private readonly List<(long Slot, SlotValue Value)> _applied = new();

    /// <summary>Every slot from 0 on, in order: installed or applied.</summary>
    public IReadOnlyList<(long Slot, SlotValue Value)> Applied => _applied;

    public long NextSlot => _applied.Count;

    /// <summary>Steps <paramref name="learner"/> and carries out the Install and Apply of its Ready.</summary>
    public Ready Step(IAgent learner, IInput input) => Carry(learner.Step(input));

    public Ready Carry(Ready ready)
    {
        if (ready.Install is { } install)
        {
            var values = Decode(install.State);
            Assert.Equal(install.NextToApply, values.Count);
            _applied.Clear();
            _applied.AddRange(values.Select((v, slot) => ((long)slot, v)));
        }
        foreach (var chosen in ready.Apply)
        {
            Assert.True(chosen.Slot == NextSlot, $"slot {chosen.Slot} applied when slot {NextSlot} was next");
            _applied.Add((chosen.Slot, chosen.Value));
        }
        return ready;
    }

    /// <summary>The state as a shell would snapshot or transfer it.</summary>
    public byte[] Snapshot() => Encode(_applied.Select(a => a.Value));

    /// <summary>The state of a machine that applied <paramref name="values"/> to slots 0, 1, 2, ...</summary>
    public static byte[] Encode(IEnumerable<SlotValue> values)
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream);
        var list = values.ToList();
        writer.Write(list.Count);
        foreach (var value in list)
        {
            writer.Write(value.Commands.Length);
            foreach (var c in value.Commands)
            {
                writer.Write(c.Length);
                writer.Write(c.Span);
            }
        }
        writer.Flush();
        return stream.ToArray();
    }

    private static List<SlotValue> Decode(byte[] state)
    {
        using var reader = new BinaryReader(new MemoryStream(state));
        int count = reader.ReadInt32();
        var values = new List<SlotValue>(count);
        for (int i = 0; i < count; i++)
        {
            int n = reader.ReadInt32();
            var commands = ImmutableArray.CreateBuilder<ReadOnlyMemory<byte>>(n);
            for (int j = 0; j < n; j++) commands.Add(reader.ReadBytes(reader.ReadInt32()));
            values.Add(new SlotValue(commands.MoveToImmutable()));
        }
        return values;
    }
}
