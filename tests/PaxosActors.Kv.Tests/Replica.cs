using System.Text;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Kv.Tests;

/// <summary>A state machine plus what its callback reported: the learner's view, one slot at a time.</summary>
internal sealed class Replica
{
    public Replica(long sessionExpirySlots = KvStateMachine.DefaultSessionExpirySlots)
        => Machine = new KvStateMachine(sessionExpirySlots, (id, result) => Reported.Add((id, result)));

    public KvStateMachine Machine { get; private set; }

    public List<(CommandId Id, KvResult Result)> Reported { get; } = new();

    /// <summary>Applies the commands as the next slot and returns what the callback reported for that slot.</summary>
    public IReadOnlyList<(CommandId Id, KvResult Result)> Run(params KvCommand[] commands)
        => RunRaw(commands.Select(KvCodec.Encode).ToArray());

    public IReadOnlyList<(CommandId Id, KvResult Result)> RunRaw(params byte[][] commands)
    {
        int before = Reported.Count;
        Machine.Apply(Machine.AppliedSlot + 1, SlotValue.Of(commands));
        return Reported.Skip(before).ToList();
    }

    /// <summary>Runs one command alone in a slot and returns its single result.</summary>
    public KvResult Single(KvCommand command) => Assert.Single(Run(command)).Result;

    public void NoOps(int slots)
    {
        for (int i = 0; i < slots; i++) Machine.Apply(Machine.AppliedSlot + 1, SlotValue.NoOp);
    }

    public static Replica Restore(byte[] snapshot, long sessionExpirySlots = KvStateMachine.DefaultSessionExpirySlots)
    {
        var replica = new Replica(sessionExpirySlots);
        replica.Machine = KvStateMachine.Restore(snapshot, sessionExpirySlots, (id, r) => replica.Reported.Add((id, r)));
        return replica;
    }

    public string? Read(string key) => Machine.TryGet(key, out var v) ? Encoding.UTF8.GetString(v.Span) : null;
}

/// <summary>Terse command builders for one client.</summary>
internal sealed class Client(ulong id)
{
    public long AckedBelow { get; set; }

    public KvCommand.Put Put(long seq, string key, string value) => new(new CommandId(id, seq), AckedBelow, key, Bytes(value));

    public KvCommand.Delete Delete(long seq, string key) => new(new CommandId(id, seq), AckedBelow, key);

    public KvCommand.CompareAndSet Cas(long seq, string key, string? expected, string? replacement) =>
        new(new CommandId(id, seq), AckedBelow, key, Optional(expected), Optional(replacement));

    // Not `s is null ? null : Bytes(s)`: that conditional's type is ReadOnlyMemory<byte> and its null an empty, present value.
    private static ReadOnlyMemory<byte>? Optional(string? s) => s is null ? default(ReadOnlyMemory<byte>?) : Bytes(s);

    public KvCommand.Get Get(long seq, string key) => new(new CommandId(id, seq), AckedBelow, key);

    public static ReadOnlyMemory<byte> Bytes(string s) => Encoding.UTF8.GetBytes(s);

    public static string? Text(ReadOnlyMemory<byte>? bytes) => bytes is { } b ? Encoding.UTF8.GetString(b.Span) : null;
}
