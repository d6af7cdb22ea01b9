using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Actors;
using PaxosActors.Core.Wire;

namespace PaxosActors.Serialization;

/// <summary>
/// Compact binary serializer for every Paxos wire message, journal event and snapshot.
/// </summary>
/// <remarks>
/// <para>Wire format: each type has a short string manifest (see <see cref="Manifests"/>) and a payload that is a
/// fixed sequence of fields with no tags, so a field can never be added to an existing manifest: a new layout
/// gets a new manifest (e.g. "P2a2") and the old one stays readable for journals written before it.</para>
/// <para>Fields: signed integers (slots, rounds, node ids) are zig-zag LEB128 varints (little-endian base-128, at
/// most 10 bytes); lengths and counts are plain LEB128 varints; a <see cref="Ballot"/> is round then proposer; a
/// <see cref="SlotValue"/> is a command count then, per command, a length and its bytes; a reconfiguration (a slot value
/// that carries a <see cref="Reconfiguration"/>) writes <see cref="WireWriter.EpochChangeMarker"/> in place of the count,
/// then the first slot of the epoch it expects, then the expected and the next <see cref="Membership"/> (each its acceptor
/// ids, then its learner ids). A change from before changes named their epoch has the layout it had then:
/// <see cref="WireWriter.ChangeMarker"/>, then the two memberships. Values without a reconfiguration are written exactly as
/// before it existed, so older journals stay readable.</para>
/// <para>A reconfiguration has no manifest of its own: it is a slot value, inside the payload of every message and record
/// that carries one (Accept, Chosen, ChosenRange, Propose, Promise, Voted, Learned, the acceptor's snapshot and state
/// report, Rebuilt). Its markers version its layout where it stands, as a manifest versions a payload, instead of a new
/// manifest for each of those; a node that does not know a marker fails to decode the message, as it would an unknown
/// manifest.</para>
/// <para>Decoding checks every length and count against the bytes that remain before allocating, and demands the
/// payload be consumed exactly, so corrupt input fails fast with a <see cref="SerializationException"/>.</para>
/// </remarks>
public sealed class PaxosSerializer : SerializerWithStringManifest
{
    /// <summary>The serializer id written next to every payload. Fixed forever: journals store it.</summary>
    public const int SerializerId = 4242;

    /// <summary>One manifest per type and layout. Never reuse or change one: persisted events name them.</summary>
    public static class Manifests
    {
        public const string Prepare = "P1a";
        public const string Promise = "P1b";
        public const string Accept = "P2a";
        public const string Accepted = "P2b";
        public const string Nack = "Nk";
        public const string Chosen = "Ch";
        public const string CatchUp = "CU";
        public const string ChosenRange = "CR";
        public const string Propose = "Pr";
        public const string Heartbeat = "HB";
        public const string Promised = "APm";
        public const string Voted = "AVt";
        public const string Compacted = "ACp";
        public const string AcceptorSnapshot = "ASn";
        public const string RoundReserved = "RR";
        public const string Learned = "Ln";
        public const string StateTransfer = "ST";
        public const string StateQuery = "SQ";
        public const string StateReport = "SR";
        public const string Rebuilt = "ARb";
        public const string VoterJoined = "AVJ";
        public const string JoinAsked = "AJA";
        public const string LearnerSnapshot = "LSn";
        public const string LearnerSnapshotWithConfigurations = "LS2";
        public const string StateTransferWithConfigurations = "ST2";
        public const string RoundQuery = "RQ";
        public const string RoundReport = "RRp";
        public const string ReadIndexRequest = "RIq";
        public const string ReadIndexRequestWithHops = "RIh";
        public const string ReadIndexReply = "RIr";
        public const string ReadConfirm = "RCf";
        public const string ReadConfirmed = "RCd";
        public const string GetVoterState = "VSq";
        public const string VoterState = "VSr";
    }

    public PaxosSerializer(ExtendedActorSystem system) : base(system)
    {
    }

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o switch
    {
        Prepare => Manifests.Prepare,
        Promise => Manifests.Promise,
        Accept => Manifests.Accept,
        Accepted => Manifests.Accepted,
        Nack => Manifests.Nack,
        Chosen => Manifests.Chosen,
        CatchUp => Manifests.CatchUp,
        ChosenRange => Manifests.ChosenRange,
        Propose => Manifests.Propose,
        Heartbeat => Manifests.Heartbeat,
        Promised => Manifests.Promised,
        Voted => Manifests.Voted,
        Compacted => Manifests.Compacted,
        AcceptorSnapshot => Manifests.AcceptorSnapshot,
        RoundReserved => Manifests.RoundReserved,
        Learned => Manifests.Learned,
        StateTransfer => Manifests.StateTransferWithConfigurations,
        StateQuery => Manifests.StateQuery,
        StateReport => Manifests.StateReport,
        Rebuilt => Manifests.Rebuilt,
        VoterJoined => Manifests.VoterJoined,
        JoinAsked => Manifests.JoinAsked,
        LearnerSnapshot => Manifests.LearnerSnapshotWithConfigurations,
        RoundQuery => Manifests.RoundQuery,
        RoundReport => Manifests.RoundReport,
        ReadIndexRequest => Manifests.ReadIndexRequestWithHops,
        ReadIndexReply => Manifests.ReadIndexReply,
        ReadConfirm => Manifests.ReadConfirm,
        ReadConfirmed => Manifests.ReadConfirmed,
        GetVoterState => Manifests.GetVoterState,
        VoterState => Manifests.VoterState,
        _ => throw Unsupported(o),
    };

    public override byte[] ToBinary(object obj) => obj switch
    {
        Prepare m => Encode(m, static (ref WireWriter w, Prepare m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.FromSlot);
        }),
        Promise m => Encode(m, static (ref WireWriter w, Promise m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.Acceptor);
            w.Int64(m.CompactedBelow);
            w.Entries(m.Entries);
        }),
        Accept m => Encode(m, static (ref WireWriter w, Accept m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.Slot);
            w.Value(m.Value);
        }),
        Accepted m => Encode(m, static (ref WireWriter w, Accepted m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.Slot);
            w.Int64(m.Acceptor);
        }),
        Nack m => Encode(m, static (ref WireWriter w, Nack m) =>
        {
            w.Ballot(m.Rejected);
            w.Int64(m.Acceptor);
            w.Ballot(m.Promised);
        }),
        Chosen m => Encode(m, static (ref WireWriter w, Chosen m) =>
        {
            w.Int64(m.Slot);
            w.Value(m.Value);
        }),
        CatchUp m => Encode(m, static (ref WireWriter w, CatchUp m) =>
        {
            w.Int64(m.Learner);
            w.Int64(m.FromSlot);
        }),
        ChosenRange m => Encode(m, static (ref WireWriter w, ChosenRange m) =>
        {
            w.Int64(m.FromSlot);
            var values = m.Values.IsDefault ? ImmutableArray<SlotValue>.Empty : m.Values;
            w.Count(values.Length);
            foreach (var v in values) w.Value(v);
        }),
        Propose m => Encode(m, static (ref WireWriter w, Propose m) =>
        {
            w.Value(m.Commands);
            w.Int64(m.Hops);
        }),
        Heartbeat m => Encode(m, static (ref WireWriter w, Heartbeat m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.FirstUnchosen);
        }),
        Promised e => Encode(e, static (ref WireWriter w, Promised e) => w.Ballot(e.Ballot)),
        Voted e => Encode(e, static (ref WireWriter w, Voted e) =>
        {
            w.Int64(e.Slot);
            w.Ballot(e.Ballot);
            w.Value(e.Value);
        }),
        Compacted e => Encode(e, static (ref WireWriter w, Compacted e) => w.Int64(e.Below)),
        AcceptorSnapshot s => Encode(s, static (ref WireWriter w, AcceptorSnapshot s) =>
        {
            w.Ballot(s.Promised);
            w.Int64(s.CompactedBelow);
            w.Entries(s.Entries);
            w.Ids(s.KnownVoters);
        }),
        RoundReserved e => Encode(e, static (ref WireWriter w, RoundReserved e) => w.Int64(e.Round)),
        Learned e => Encode(e, static (ref WireWriter w, Learned e) =>
        {
            w.Int64(e.Slot);
            w.Value(e.Value);
        }),
        StateQuery m => Encode(m, static (ref WireWriter w, StateQuery m) =>
        {
            w.Int64(m.From);
            w.Int64(m.Full ? 1 : 0);
            w.Int64(m.Join ? 1 : 0);
        }),
        StateReport m => Encode(m, static (ref WireWriter w, StateReport m) =>
        {
            w.Int64(m.Acceptor);
            w.Int64(m.Full ? 1 : 0);
            w.Ballot(m.Promised);
            w.Int64(m.CompactedBelow);
            w.Entries(m.Entries);
            w.Int64(m.KnowsAsker ? 1 : 0);
            w.Ids(m.KnownVoters);
        }),
        Rebuilt e => Encode(e, static (ref WireWriter w, Rebuilt e) =>
        {
            w.Ballot(e.State.Promised);
            w.Int64(e.State.CompactedBelow);
            w.Entries(e.State.Entries);
            w.Ids(e.State.KnownVoters);
        }),
        VoterJoined e => Encode(e, static (ref WireWriter w, VoterJoined e) => w.Int64(e.Acceptor)),
        JoinAsked e => Encode(e, static (ref WireWriter w, JoinAsked e) =>
        {
            w.Int64(e.Acceptor);
            w.Ids(e.Cleared);
        }),
        StateTransfer m => Encode(m, static (ref WireWriter w, StateTransfer m) =>
        {
            w.Int64(m.NextToApply);
            w.Bytes(m.State);
            w.Epochs(m.Configurations);
        }),
        LearnerSnapshot s => Encode(s, static (ref WireWriter w, LearnerSnapshot s) =>
        {
            w.Int64(s.NextToApply);
            w.Bytes(s.State);
            w.Epochs(s.Configurations);
        }),
        RoundQuery m => Encode(m, static (ref WireWriter w, RoundQuery m) =>
        {
            w.Int64(m.Proposer);
            w.Int64(m.Nonce);
        }),
        RoundReport m => Encode(m, static (ref WireWriter w, RoundReport m) =>
        {
            w.Int64(m.Acceptor);
            w.Ballot(m.Promised);
            w.Int64(m.Nonce);
        }),
        ReadIndexRequest m => Encode(m, static (ref WireWriter w, ReadIndexRequest m) =>
        {
            w.Int64(m.Node);
            w.Int64(m.Id);
            w.Int64(m.Hops);
        }),
        ReadIndexReply m => Encode(m, static (ref WireWriter w, ReadIndexReply m) =>
        {
            w.Int64(m.Id);
            w.Int64(m.Point);
            w.Ballot(m.Ballot);
        }),
        ReadConfirm m => Encode(m, static (ref WireWriter w, ReadConfirm m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.Round);
        }),
        ReadConfirmed m => Encode(m, static (ref WireWriter w, ReadConfirmed m) =>
        {
            w.Ballot(m.Ballot);
            w.Int64(m.Round);
            w.Int64(m.Acceptor);
        }),
        GetVoterState => [],
        VoterState m => Encode(m, static (ref WireWriter w, VoterState m) =>
        {
            w.Int64(m.Acceptor);
            w.Int64(m.Ready ? 1 : 0);
            w.Int64(m.InSet ? 1 : 0);
            w.Bytes(System.Text.Encoding.UTF8.GetBytes(m.State));
        }),
        _ => throw Unsupported(obj),
    };

    /// <remarks>Commands of a decoded <see cref="SlotValue"/> are slices of <paramref name="bytes"/>, not copies:
    /// Akka hands each payload its own array (remoting and the journal both copy out of their frames).</remarks>
    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (bytes is null) throw new SerializationException($"PaxosSerializer: no bytes to decode for manifest '{manifest}'.");
        var r = new WireReader(bytes, manifest);
        object result = manifest switch
        {
            Manifests.Prepare => new Prepare(r.Ballot(), r.Int64()),
            Manifests.Promise => new Promise(r.Ballot(), r.Int32(), r.Int64(), r.Entries()),
            Manifests.Accept => new Accept(r.Ballot(), r.Int64(), r.Value()),
            Manifests.Accepted => new Accepted(r.Ballot(), r.Int64(), r.Int32()),
            Manifests.Nack => new Nack(r.Ballot(), r.Int32(), r.Ballot()),
            Manifests.Chosen => new Chosen(r.Int64(), r.Value()),
            Manifests.CatchUp => new CatchUp(r.Int32(), r.Int64()),
            Manifests.ChosenRange => new ChosenRange(r.Int64(), r.Values()),
            Manifests.Propose => new Propose(r.Value(), r.Int32()),
            Manifests.Heartbeat => new Heartbeat(r.Ballot(), r.Int64()),
            Manifests.Promised => new Promised(r.Ballot()),
            Manifests.Voted => new Voted(r.Int64(), r.Ballot(), r.Value()),
            Manifests.Compacted => new Compacted(r.Int64()),
            Manifests.AcceptorSnapshot => new AcceptorSnapshot(r.Ballot(), r.Int64(), r.Entries()) { KnownVoters = r.Ids() },
            Manifests.RoundReserved => new RoundReserved(r.Int64()),
            Manifests.Learned => new Learned(r.Int64(), r.Value()),
            Manifests.StateTransfer => new StateTransfer(r.Int64(), r.ByteArray()),
            Manifests.StateTransferWithConfigurations => new StateTransfer(r.Int64(), r.ByteArray()) { Configurations = r.Epochs() },
            Manifests.StateQuery => new StateQuery(r.Int32(), r.Flag(), r.Flag()),
            Manifests.StateReport => new StateReport(r.Int32(), r.Flag(), r.Ballot(), r.Int64(), r.Entries(), r.Flag()) { KnownVoters = r.Ids() },
            Manifests.Rebuilt => new Rebuilt(new AcceptorSnapshot(r.Ballot(), r.Int64(), r.Entries()) { KnownVoters = r.Ids() }),
            Manifests.VoterJoined => new VoterJoined(r.Int32()),
            Manifests.JoinAsked => new JoinAsked(r.Int32(), r.Ids()),
            Manifests.LearnerSnapshot => new LearnerSnapshot(r.Int64(), r.ByteArray()),
            Manifests.LearnerSnapshotWithConfigurations => new LearnerSnapshot(r.Int64(), r.ByteArray()) { Configurations = r.Epochs() },
            Manifests.RoundQuery => new RoundQuery(r.Int32(), r.Int64()),
            Manifests.RoundReport => new RoundReport(r.Int32(), r.Ballot(), r.Int64()),
            Manifests.ReadIndexRequest => new ReadIndexRequest(r.Int32(), r.Int64()), // from the asking node: hop 1
            Manifests.ReadIndexRequestWithHops => new ReadIndexRequest(r.Int32(), r.Int64(), r.Int32()),
            Manifests.ReadIndexReply => new ReadIndexReply(r.Int64(), r.Int64(), r.Ballot()),
            Manifests.ReadConfirm => new ReadConfirm(r.Ballot(), r.Int64()),
            Manifests.ReadConfirmed => new ReadConfirmed(r.Ballot(), r.Int64(), r.Int32()),
            Manifests.GetVoterState => new GetVoterState(),
            Manifests.VoterState => new VoterState(r.Int32(), r.Flag(), r.Flag(), System.Text.Encoding.UTF8.GetString(r.ByteArray())),
            _ => throw new SerializationException(
                $"PaxosSerializer: unknown manifest '{manifest}' ({bytes.Length} bytes); written by a newer version?"),
        };
        r.End();
        return result;
    }

    private delegate void Body<in T>(ref WireWriter w, T msg);

    // Two passes over the same body: the first only counts, so the result is allocated once at its exact size.
    private static byte[] Encode<T>(T msg, Body<T> body)
    {
        var sizer = WireWriter.Sizing();
        body(ref sizer, msg);
        var bytes = new byte[sizer.Position];
        var writer = new WireWriter(bytes);
        body(ref writer, msg);
        if (writer.Position != bytes.Length)
            throw new SerializationException($"PaxosSerializer: {typeof(T).Name} changed while being encoded.");
        return bytes;
    }

    private static ArgumentException Unsupported(object? o) =>
        new($"PaxosSerializer cannot serialize {o?.GetType().FullName ?? "null"}; check serialization-bindings.");
}

/// <summary>Writes fields into an exactly-sized span, or, in sizing mode, only counts the bytes they need.</summary>
internal ref struct WireWriter
{
    private readonly Span<byte> _buffer;
    private readonly bool _sizing;

    public WireWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _sizing = false;
        Position = 0;
    }

    private WireWriter(bool sizing)
    {
        _buffer = default;
        _sizing = sizing;
        Position = 0;
    }

    public static WireWriter Sizing() => new(sizing: true);

    public int Position { get; private set; }

    public void UInt64(ulong v) => Position += _sizing ? Varint.Length(v) : Varint.Write(_buffer[Position..], v);

    /// <summary>Zig-zag, so small negative numbers stay short too.</summary>
    public void Int64(long v) => UInt64(Varint.ZigZag(v));

    public void Count(int n) => UInt64((uint)n);

    public void Ballot(Ballot b)
    {
        Int64(b.Round);
        Int64(b.Proposer);
    }

    public void Bytes(ReadOnlySpan<byte> bytes)
    {
        Count(bytes.Length);
        if (!_sizing) bytes.CopyTo(_buffer[Position..]);
        Position += bytes.Length;
    }

    public void Ids(ImmutableArray<int> ids)
    {
        var list = ids.IsDefault ? ImmutableArray<int>.Empty : ids;
        Count(list.Length);
        foreach (int id in list) Int64(id);
    }

    /// <summary>Written in place of a slot value's command count when the value is a reconfiguration that names no epoch:
    /// the layout from before changes named their epoch, written now only for such a change read back from a journal (so
    /// it stays the value it was: values are compared by content). No count comes near it.</summary>
    public const ulong ChangeMarker = ulong.MaxValue;

    /// <summary>Written in place of a slot value's command count when the value is a reconfiguration that names the epoch it
    /// expects (<see cref="Reconfiguration.ExpectedFrom"/>), which is written next.</summary>
    public const ulong EpochChangeMarker = ulong.MaxValue - 1;

    public void Membership(Membership c)
    {
        Ids(c.Acceptors);
        Ids(c.Learners);
    }

    public void Epochs(ImmutableArray<MembershipEpoch> epochs)
    {
        var list = epochs.IsDefault ? ImmutableArray<MembershipEpoch>.Empty : epochs;
        Count(list.Length);
        foreach (var e in list)
        {
            Int64(e.EffectiveFrom);
            Membership(e.Membership);
        }
    }

    public void Value(SlotValue? value)
    {
        if (value is null) throw new SerializationException("PaxosSerializer: a SlotValue field is null.");
        if (value.Change is { } change)
        {
            if (change.ExpectedFrom is { } expectedFrom)
            {
                UInt64(EpochChangeMarker);
                Int64(expectedFrom);
            }
            else UInt64(ChangeMarker);
            Membership(change.Expected);
            Membership(change.Next);
            return;
        }
        var commands = value.Commands.IsDefault ? ImmutableArray<ReadOnlyMemory<byte>>.Empty : value.Commands;
        Count(commands.Length);
        foreach (var c in commands) Bytes(c.Span);
    }

    public void Entries(ImmutableArray<AcceptedEntry> entries)
    {
        if (entries.IsDefault) entries = ImmutableArray<AcceptedEntry>.Empty;
        Count(entries.Length);
        foreach (var e in entries)
        {
            Int64(e.Slot);
            Ballot(e.Ballot);
            Value(e.Value);
        }
    }
}

/// <summary>Reads fields back, refusing anything that would run past the end or claim more than the input holds.</summary>
/// <remarks>Arrays are wrapped, not copied, into <see cref="ImmutableArray{T}"/>: nothing else holds them.</remarks>
internal ref struct WireReader
{
    // Smallest encodings, used to bound counts before allocating: a command is at least its length byte; a value
    // at least its count byte; an entry at least slot, round, proposer and value count.
    private const int MinCommandSize = 1;
    private const int MinValueSize = 1;
    private const int MinEntrySize = 4;

    private readonly byte[] _bytes;
    private readonly string _manifest;
    private int _position;

    public WireReader(byte[] bytes, string manifest)
    {
        _bytes = bytes;
        _manifest = manifest;
        _position = 0;
    }

    private readonly int Remaining => _bytes.Length - _position;

    public ulong UInt64()
    {
        var status = Varint.TryRead(_bytes.AsSpan(_position), out ulong value, out int length);
        _position += length;
        return status switch
        {
            Varint.Status.Ok => value,
            Varint.Status.Truncated => throw Fail("truncated inside a varint"),
            _ => throw Fail("varint longer than 64 bits"),
        };
    }

    public long Int64() => Varint.UnZigZag(UInt64());

    public int Int32()
    {
        long v = Int64();
        if (v is < int.MinValue or > int.MaxValue) throw Fail($"{v} does not fit a 32-bit field");
        return (int)v;
    }

    public Ballot Ballot() => new(Int64(), Int32());

    /// <summary>A count of items each at least <paramref name="minItemSize"/> bytes long, so it cannot exceed
    /// what is left: a corrupt count fails here instead of allocating a huge array.</summary>
    private int Count(int minItemSize)
    {
        ulong n = UInt64();
        if (n > (ulong)(Remaining / minItemSize))
            throw Fail($"count {n} needs more than the {Remaining} bytes left");
        return (int)n;
    }

    public ImmutableArray<int> Ids()
    {
        int n = Count(1);
        var builder = ImmutableArray.CreateBuilder<int>(n);
        for (int i = 0; i < n; i++) builder.Add(Int32());
        return builder.MoveToImmutable();
    }

    /// <summary>A boolean written as the varint 0 or 1; anything else is corrupt.</summary>
    public bool Flag()
    {
        long v = Int64();
        return v switch
        {
            0 => false,
            1 => true,
            _ => throw new SerializationException($"PaxosSerializer: manifest '{_manifest}' has a flag of {v}, expected 0 or 1."),
        };
    }

    /// <summary>A length-prefixed byte string, copied out (it outlives the payload).</summary>
    public byte[] ByteArray()
    {
        int length = Count(1);
        var copy = _bytes.AsSpan(_position, length).ToArray();
        _position += length;
        return copy;
    }

    public Membership Membership()
    {
        var acceptors = Ids();
        var learners = Ids();
        try
        {
            return new Membership(acceptors, learners);
        }
        catch (ArgumentException e)
        {
            throw Fail($"invalid configuration ({e.Message})");
        }
    }

    public ImmutableArray<MembershipEpoch> Epochs()
    {
        int n = Count(3);
        var builder = ImmutableArray.CreateBuilder<MembershipEpoch>(n);
        for (int i = 0; i < n; i++) builder.Add(new MembershipEpoch(Int64(), Membership()));
        return builder.MoveToImmutable();
    }

    public SlotValue Value()
    {
        ulong raw = UInt64();
        if (raw == WireWriter.EpochChangeMarker)
        {
            long expectedFrom = Int64();
            if (expectedFrom < 0) throw Fail($"a change expects an epoch from slot {expectedFrom}");
            var expected = Membership();
            return SlotValue.Reconfigure(new Reconfiguration(new MembershipEpoch(expectedFrom, expected), Membership()));
        }
        if (raw == WireWriter.ChangeMarker)
        {
            // Written before changes named their epoch: it keeps matching by its set alone (Reconfiguration.ExpectedFrom),
            // the rule it was applied with when it was chosen, so a replay computes the memberships the log was chosen with.
            var expected = Membership();
            return SlotValue.Reconfigure(Reconfiguration.WithoutEpoch(expected, Membership()));
        }
        if (raw > (ulong)(Remaining / MinCommandSize))
            throw Fail($"count {raw} needs more than the {Remaining} bytes left");
        int n = (int)raw;
        if (n == 0) return SlotValue.NoOp;
        var commands = new ReadOnlyMemory<byte>[n];
        for (int i = 0; i < n; i++)
        {
            int length = Count(1);
            commands[i] = new ReadOnlyMemory<byte>(_bytes, _position, length);
            _position += length;
        }
        return new SlotValue(ImmutableCollectionsMarshal.AsImmutableArray(commands));
    }

    public ImmutableArray<SlotValue> Values()
    {
        int n = Count(MinValueSize);
        if (n == 0) return ImmutableArray<SlotValue>.Empty;
        var values = new SlotValue[n];
        for (int i = 0; i < n; i++) values[i] = Value();
        return ImmutableCollectionsMarshal.AsImmutableArray(values);
    }

    public ImmutableArray<AcceptedEntry> Entries()
    {
        int n = Count(MinEntrySize);
        if (n == 0) return ImmutableArray<AcceptedEntry>.Empty;
        var entries = new AcceptedEntry[n];
        for (int i = 0; i < n; i++) entries[i] = new AcceptedEntry(Int64(), Ballot(), Value());
        return ImmutableCollectionsMarshal.AsImmutableArray(entries);
    }

    public readonly void End()
    {
        if (Remaining != 0) throw Fail($"{Remaining} unexpected trailing byte(s)");
    }

    private readonly SerializationException Fail(string why) =>
        new($"PaxosSerializer: malformed '{_manifest}' payload at byte {_position} of {_bytes.Length}: {why}.");
}
