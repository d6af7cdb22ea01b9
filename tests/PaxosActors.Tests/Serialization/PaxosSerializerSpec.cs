using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Actors;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Serialization;
using Xunit.Abstractions;
using AkkaTestKit = Akka.TestKit.Xunit2.TestKit;

namespace PaxosActors.Tests.Serialization;

/// <summary>The wire and journal format: every type round-trips, and corrupt bytes fail loudly and cheaply.</summary>
public sealed class PaxosSerializerSpec : AkkaTestKit
{
    private static readonly Config SpecConfig = ConfigurationFactory
        .ParseString("akka.actor.serialize-messages = on")
        .WithFallback(PaxosActors.Configuration.PaxosSettings.DefaultConfig);

    private readonly PaxosSerializer _serializer;

    public PaxosSerializerSpec(ITestOutputHelper output) : base(SpecConfig, output: output)
    {
        _serializer = new PaxosSerializer((ExtendedActorSystem)Sys);
    }

    private static readonly SlotValue Batch = SlotValue.Of([1, 2, 3], [], Enumerable.Range(0, 300).Select(i => (byte)i).ToArray());
    private static readonly SlotValue Single = SlotValue.Of("set x=1"u8.ToArray());

    private static readonly ImmutableArray<AcceptedEntry> SomeEntries =
    [
        new AcceptedEntry(12, new Ballot(3, 1), Single),
        new AcceptedEntry(13, new Ballot(4, 2), SlotValue.NoOp),
        new AcceptedEntry(200_000, new Ballot(5, 3), Batch),
    ];

    /// <summary>Named samples, several per type, covering empty collections, no-ops and the extremes of each field.</summary>
    private static readonly IReadOnlyDictionary<string, object> Samples = new Dictionary<string, object>
    {
        ["Prepare"] = new Prepare(new Ballot(7, 2), 41),
        ["Prepare at the extremes"] = new Prepare(new Ballot(long.MaxValue, int.MaxValue), long.MaxValue),
        ["Prepare with negative fields"] = new Prepare(new Ballot(long.MinValue, int.MinValue), -1),
        ["Promise with entries"] = new Promise(new Ballot(7, 2), 3, 10, SomeEntries),
        ["Promise without entries"] = new Promise(Ballot.Zero, 0, 0, ImmutableArray<AcceptedEntry>.Empty),
        ["Accept"] = new Accept(new Ballot(9, 1), 1_000_000, Batch),
        ["Accept of a no-op"] = new Accept(new Ballot(9, 1), 0, SlotValue.NoOp),
        ["Accepted"] = new Accepted(new Ballot(9, 1), 1_000_000, 4),
        ["Nack"] = new Nack(new Ballot(2, 1), 3, new Ballot(5, 2)),
        ["Chosen"] = new Chosen(17, Single),
        ["CatchUp"] = new CatchUp(2, 99),
        ["ChosenRange"] = new ChosenRange(100, [Single, SlotValue.NoOp, Batch]),
        ["ChosenRange empty"] = new ChosenRange(5, ImmutableArray<SlotValue>.Empty),
        ["Propose"] = new Propose(Batch, 3),
        ["Heartbeat"] = new Heartbeat(new Ballot(11, 2), 12_345),
        ["Promised"] = new Promised(new Ballot(1, 1)),
        ["Promised zero"] = new Promised(Ballot.Zero),
        ["Voted"] = new Voted(8, new Ballot(3, 3), Single),
        ["Compacted"] = new Compacted(4096),
        ["AcceptorSnapshot"] = new AcceptorSnapshot(new Ballot(6, 1), 11, SomeEntries),
        ["AcceptorSnapshot empty"] = new AcceptorSnapshot(Ballot.Zero, 0, ImmutableArray<AcceptedEntry>.Empty),
        ["RoundReserved"] = new RoundReserved(42),
        ["Learned"] = new Learned(5, Batch),
        ["Learned no-op"] = new Learned(6, SlotValue.NoOp),
        ["StateTransfer"] = new StateTransfer(17, [1, 2, 3, 250]),
        ["StateTransfer empty"] = new StateTransfer(0, []),
        ["LearnerSnapshot"] = new LearnerSnapshot(1_000, [9, 8, 7]),
        ["LearnerSnapshot with memberships"] = new LearnerSnapshot(1_000, [9, 8, 7])
        {
            Configurations = [new(0, new Membership([1, 2, 3])), new(1_010, new Membership([2, 3, 4], [1]))],
        },
        ["StateTransfer with memberships"] = new StateTransfer(17, [1]) { Configurations = [new(0, new Membership([1]))] },
        ["Accept of a reconfiguration"] = new Accept(new Ballot(3, 1), 9,
            SlotValue.Reconfigure(new Reconfiguration(new MembershipEpoch(1_010, new Membership([1, 2, 3])), new Membership([1, 2, 3, 4], [5])))),
        ["Voted for a reconfiguration"] = new Voted(9, new Ballot(3, 1),
            SlotValue.Reconfigure(new Reconfiguration(new MembershipEpoch(0, new Membership([1])), new Membership([2])))),
        ["Voted for a reconfiguration from before epochs"] = new Voted(9, new Ballot(3, 1),
            SlotValue.Reconfigure(Reconfiguration.WithoutEpoch(new Membership([1]), new Membership([2])))),
        ["StateQuery"] = new StateQuery(3, true, false),
        ["StateQuery join"] = new StateQuery(3, false, true),
        ["StateReport"] = new StateReport(2, true, new Ballot(7, 1), 40, [new AcceptedEntry(41, new Ballot(6, 3), SlotValue.NoOp)], true)
        {
            KnownVoters = [1, 2, 3],
        },
        ["StateReport empty"] = new StateReport(1, false, Ballot.Zero, 0, [], false),
        ["Rebuilt"] = new Rebuilt(new AcceptorSnapshot(new Ballot(9, 2), 12, [new AcceptedEntry(12, new Ballot(8, 1), SlotValue.NoOp)])
        {
            KnownVoters = [1, 3],
        }),
        ["VoterJoined"] = new VoterJoined(5),
        ["JoinAsked"] = new JoinAsked(4, [1, 2, 3]),
        ["JoinAsked none"] = new JoinAsked(int.MaxValue, []),
        ["AcceptorSnapshot with voters"] = new AcceptorSnapshot(new Ballot(2, 2), 0, []) { KnownVoters = [2, 4] },
        ["RoundQuery"] = new RoundQuery(3, 0x1234_5678_9ABC_DEF0),
        ["RoundQuery at the extremes"] = new RoundQuery(int.MaxValue, long.MinValue),
        ["RoundReport"] = new RoundReport(2, new Ballot(7, 1), -42),
        ["RoundReport zero"] = new RoundReport(1, Ballot.Zero, 0),
        ["ReadIndexRequest"] = new ReadIndexRequest(2, 0x7FFF_FFFF_FFFF_0001),
        ["ReadIndexRequest at the extremes"] = new ReadIndexRequest(int.MaxValue, long.MinValue),
        ["ReadIndexRequest passed on by a member"] = new ReadIndexRequest(4, 17, Hops: 2),
        ["GetVoterState"] = GetVoterState.Instance,
        ["VoterState"] = new VoterState(3, true, true, "voting"),
        ["VoterState waiting"] = new VoterState(int.MaxValue, false, false, "waiting: joining as a new voter: waiting for acceptor(s) 1, 2 to record it — ü"),
        ["ReadIndexReply"] = new ReadIndexReply(9, 1_000_000, new Ballot(12, 3)),
        ["ReadIndexReply zero"] = new ReadIndexReply(0, 0, Ballot.Zero),
        ["ReadConfirm"] = new ReadConfirm(new Ballot(5, 2), long.MaxValue),
        ["ReadConfirmed"] = new ReadConfirmed(new Ballot(5, 2), 17, 3),
    };

    public static TheoryData<string> SampleNames => new(Samples.Keys);

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_sample_round_trips_through_the_serializer_to_an_equal_value(string sample)
    {
        var original = Samples[sample];

        var bytes = _serializer.ToBinary(original);
        var decoded = _serializer.FromBinary(bytes, _serializer.Manifest(original));

        Assert.IsType(original.GetType(), decoded);
        Assert.Equal(original, decoded);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void The_actor_systems_serialization_picks_this_serializer_and_round_trips_every_sample(string sample)
    {
        var original = Samples[sample];
        var serialization = Sys.Serialization;

        var serializer = serialization.FindSerializerFor(original);
        Assert.IsType<PaxosSerializer>(serializer);
        Assert.Equal(PaxosSerializer.SerializerId, serializer.Identifier);

        var bytes = serialization.Serialize(original);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, original);
        var decoded = serialization.Deserialize(bytes, serializer.Identifier, manifest);

        Assert.Equal(original, decoded);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public async Task Every_sample_survives_a_send_with_serialize_messages_on(string sample)
    {
        var original = Samples[sample];
        var probe = CreateTestProbe();

        probe.Ref.Tell(original);

        var received = await probe.ExpectMsgAsync<object>();
        Assert.NotSame(original, received);
        Assert.Equal(original, received);
    }

    /// <summary>
    /// Hand-computed encodings, one per manifest. Journals keep these bytes for ever, so a change here is a format
    /// break that needs a new manifest, not an edit. Each integer is zig-zag LEB128 (7 → 0E, 41 → 52, 300 → D8 04,
    /// -1 → 01); counts and lengths are plain LEB128.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, (object Value, string Hex)> Golden =
        new Dictionary<string, (object, string)>
        {
            ["P1a"] = (new Prepare(new Ballot(7, 2), 41), "0E0452"),
            ["P1b"] = (new Promise(new Ballot(1, 1), 2, 3, [new AcceptedEntry(4, new Ballot(1, 1), SlotValue.Of([0xAB]))]),
                "02020406" + "01" + "08" + "0202" + "01" + "01AB"),
            ["P2a"] = (new Accept(new Ballot(1, 2), 5, SlotValue.Of([0xAB, 0xCD])), "0204" + "0A" + "01" + "02ABCD"),
            ["P2b"] = (new Accepted(new Ballot(1, 2), 5, 3), "02040A06"),
            ["Nk"] = (new Nack(new Ballot(1, 1), 2, new Ballot(3, 1)), "0202" + "04" + "0602"),
            ["Ch"] = (new Chosen(5, SlotValue.NoOp), "0A00"),
            ["CU"] = (new CatchUp(1, 64), "02" + "8001"),
            ["CR"] = (new ChosenRange(5, [SlotValue.NoOp, SlotValue.Of([0x01])]), "0A" + "02" + "00" + "010101"),
            ["Pr"] = (new Propose(SlotValue.Of([0xAB]), 2), "0101AB" + "04"),
            ["HB"] = (new Heartbeat(new Ballot(1, 1), 7), "02020E"),
            ["APm"] = (new Promised(new Ballot(-1, 0)), "0100"),
            ["AVt"] = (new Voted(4, new Ballot(1, 1), SlotValue.NoOp), "08" + "0202" + "00"),
            ["ACp"] = (new Compacted(300), "D804"),
            ["ASn"] = (new AcceptorSnapshot(new Ballot(1, 1), 0, ImmutableArray<AcceptedEntry>.Empty), "0202" + "00" + "00" + "00"),
            ["RR"] = (new RoundReserved(42), "54"),
            ["AJA"] = (new JoinAsked(4, [1, 3]), "08" + "02" + "02" + "06"),
            ["Ln"] = (new Learned(1, SlotValue.Of(Array.Empty<byte>())), "02" + "0100"),
            ["RQ"] = (new RoundQuery(2, -1), "04" + "01"),
            ["RRp"] = (new RoundReport(3, new Ballot(7, 1), 300), "06" + "0E02" + "D804"),
            ["RIh"] = (new ReadIndexRequest(2, 300, Hops: 2), "04" + "D804" + "04"),
            ["VSq"] = (GetVoterState.Instance, ""),
            ["VSr"] = (new VoterState(4, true, false, "wait"), "08" + "02" + "00" + "04" + "77616974"),
            ["RIr"] = (new ReadIndexReply(7, 41, new Ballot(1, 2)), "0E" + "52" + "0204"),
            ["RCf"] = (new ReadConfirm(new Ballot(7, 1), -1), "0E02" + "01"),
            ["RCd"] = (new ReadConfirmed(new Ballot(1, 1), 2, 3), "0202" + "04" + "06"),
            // A reconfiguration writes the marker 2^64 - 2 where a command count goes, then the first slot of the epoch it
            // expects, then the expected and the next membership, each its acceptor ids then its learner ids.
            ["P2a reconfiguration"] = (new Accept(new Ballot(1, 1), 2, SlotValue.Reconfigure(
                    new Reconfiguration(new MembershipEpoch(17, new Membership([1])), new Membership([1, 2], [3])))),
                "0202" + "04" + "FEFFFFFFFFFFFFFFFF01" + "22" + "0102" + "00" + "020204" + "0106"),
            // One from before changes named their epoch (in journals and snapshots written then) keeps its layout: the marker
            // 2^64 - 1, then the two memberships.
            ["P2a reconfiguration from before epochs"] = (new Accept(new Ballot(1, 1), 2, SlotValue.Reconfigure(
                    Reconfiguration.WithoutEpoch(new Membership([1]), new Membership([1, 2], [3])))),
                "0202" + "04" + "FFFFFFFFFFFFFFFFFF01" + "0102" + "00" + "020204" + "0106"),
            ["ST2"] = (new StateTransfer(1, [0xAA]) { Configurations = [new(0, new Membership([1]))] },
                "02" + "01AA" + "01" + "00" + "0102" + "00"),
            ["LS2"] = (new LearnerSnapshot(1, [0xAA]) { Configurations = [new(0, new Membership([1]))] },
                "02" + "01AA" + "01" + "00" + "0102" + "00"),
        };

    /// <summary>Journals written before the memberships existed keep their layouts, and still read.</summary>
    [Theory]
    [InlineData("ST", "02" + "01AA")]
    [InlineData("LSn", "02" + "01AA")]
    public void Layouts_from_before_the_memberships_still_read_as_the_first_membership(string manifest, string hex)
    {
        object value = _serializer.FromBinary(Convert.FromHexString(hex), manifest);
        var epochs = value switch
        {
            StateTransfer t => t.Configurations,
            LearnerSnapshot l => l.Configurations,
            _ => throw new Xunit.Sdk.XunitException($"{manifest} read as {value.GetType().Name}"),
        };
        Assert.Empty(epochs); // the learner keeps its configured first membership
    }

    /// <summary>A journal written before changes named their epoch holds this Voted (slot 9, ballot (3, 1), [1] -> [2]) in
    /// the layout of then. It still reads, as a change that names no epoch and so matches by its set alone, the rule it was
    /// applied with (<see cref="Reconfiguration.ExpectedFrom"/>); and it is written back in the same layout, so a value a
    /// node passes on (a catch-up reply, a promise) stays the value the others hold.</summary>
    [Fact]
    public void A_reconfiguration_in_the_layout_before_epochs_reads_as_a_change_matched_by_its_set_alone()
    {
        const string hex = "12" + "0602" + "FFFFFFFFFFFFFFFFFF01" + "0102" + "00" + "0104" + "00";

        var voted = Assert.IsType<Voted>(_serializer.FromBinary(Convert.FromHexString(hex), PaxosSerializer.Manifests.Voted));

        var change = Assert.IsType<Reconfiguration>(voted.Value.Change);
        Assert.Equal((9L, new Ballot(3, 1)), (voted.Slot, voted.Ballot));
        Assert.Null(change.ExpectedFrom);
        Assert.Equal(new Membership([1]), change.Expected);
        Assert.Equal(new Membership([2]), change.Next);
        Assert.True(change.Expects(new MembershipEpoch(0, new Membership([1]))));
        Assert.True(change.Expects(new MembershipEpoch(40, new Membership([1])))); // any epoch of that set, as before
        Assert.Equal(hex, Convert.ToHexString(_serializer.ToBinary(voted)));
    }

    [Fact]
    public void A_reconfiguration_naming_its_epoch_round_trips_with_it_and_expects_only_that_epoch()
    {
        var voted = new Voted(9, new Ballot(3, 1),
            SlotValue.Reconfigure(new Reconfiguration(new MembershipEpoch(1_010, new Membership([1, 2, 3])), new Membership([1, 2]))));

        var decoded = Assert.IsType<Voted>(_serializer.FromBinary(_serializer.ToBinary(voted), PaxosSerializer.Manifests.Voted));

        Assert.Equal(voted, decoded);
        var change = decoded.Value.Change!;
        Assert.Equal(1_010, change.ExpectedFrom);
        Assert.True(change.Expects(new MembershipEpoch(1_010, new Membership([1, 2, 3]))));
        Assert.False(change.Expects(new MembershipEpoch(0, new Membership([1, 2, 3])))); // the same set, an earlier epoch
        Assert.False(change.Expects(new MembershipEpoch(2_000, new Membership([1, 2, 3])))); // the same set come back
    }

    [Fact]
    public void A_reconfiguration_expecting_an_epoch_from_a_negative_slot_throws()
    {
        // Chosen: slot 1, then a change expecting the epoch from slot -1 (zig-zag 01).
        var bytes = Convert.FromHexString("02" + "FEFFFFFFFFFFFFFFFF01" + "01" + "0102" + "00" + "0104" + "00");

        var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, PaxosSerializer.Manifests.Chosen));
        Assert.Contains("epoch", ex.Message);
    }

    [Fact] // a node of the version before reads could be passed on sends this layout: it reads as the asking node's own request
    public void A_read_index_request_in_the_layout_before_hops_reads_as_sent_by_the_asking_node()
    {
        Assert.Equal(new ReadIndexRequest(2, 300, Hops: 1), _serializer.FromBinary(Convert.FromHexString("04" + "D804"), "RIq"));
    }

    public static TheoryData<string> GoldenManifests => new(Golden.Keys);

    [Theory]
    [MemberData(nameof(GoldenManifests))]
    public void Each_manifest_writes_and_reads_its_pinned_byte_layout(string manifest)
    {
        var (value, hex) = Golden[manifest];

        Assert.Equal(manifest.Split(' ')[0], _serializer.Manifest(value));
        Assert.Equal(hex, Convert.ToHexString(_serializer.ToBinary(value)));
        Assert.Equal(value, _serializer.FromBinary(Convert.FromHexString(hex), manifest.Split(' ')[0]));
    }

    [Fact]
    public void Every_protocol_message_event_and_snapshot_type_has_a_sample_and_a_manifest()
    {
        var core = typeof(IPaxosMessage).Assembly;
        var required = core.GetTypes()
            .Where(t => t is { IsAbstract: false, IsInterface: false } &&
                        (typeof(IPaxosMessage).IsAssignableFrom(t) || typeof(IAcceptorEvent).IsAssignableFrom(t)))
            .Concat([typeof(AcceptorSnapshot), typeof(RoundReserved), typeof(Learned), typeof(LearnerSnapshot)])
            .ToHashSet();
        var sampled = Samples.Values.Select(s => s.GetType()).ToHashSet();

        Assert.Empty(required.Except(sampled).Select(t => t.Name));
        var manifests = sampled.Select(t => _serializer.Manifest(Samples.Values.First(s => s.GetType() == t))).ToList();
        Assert.Equal(manifests.Count, manifests.Distinct().Count());
        Assert.All(manifests, m => Assert.InRange(m.Length, 1, 3));
    }

    [Fact]
    public void Serializing_a_type_it_is_not_bound_to_throws_an_argument_exception()
    {
        Assert.Throws<ArgumentException>(() => _serializer.ToBinary("not a paxos message"));
        Assert.Throws<ArgumentException>(() => _serializer.Manifest(42));
    }

    [Fact]
    public void Decoded_commands_are_slices_of_the_input_array_not_copies()
    {
        var bytes = _serializer.ToBinary(new Accept(new Ballot(1, 1), 1, Batch));

        var decoded = (Accept)_serializer.FromBinary(bytes, PaxosSerializer.Manifests.Accept);

        Assert.All(decoded.Value.Commands, c =>
        {
            Assert.True(MemoryMarshal.TryGetArray(c, out var segment));
            Assert.Same(bytes, segment.Array);
        });
    }

    [Fact]
    public void An_accept_carrying_one_100_byte_command_encodes_in_at_most_110_bytes()
    {
        // Realistic large-ish fields: round 1,000,000 (zig-zag 2,000,000 < 2^21: 3 bytes), proposer 3 (1 byte),
        // slot 1,000,000 (3 bytes), command count (1 byte), command length 100 (1 byte), the 100 bytes themselves.
        // That is 109 bytes, so 110 leaves one byte of slack and still fails on any per-field tag or fixed-width int.
        var accept = new Accept(new Ballot(1_000_000, 3), 1_000_000, SlotValue.Of(new byte[100]));

        var bytes = _serializer.ToBinary(accept);

        Assert.InRange(bytes.Length, 100, 110);
        Assert.Equal(3, _serializer.Manifest(accept).Length);
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Every_truncation_of_a_valid_payload_throws_a_serialization_exception(string sample)
    {
        var original = Samples[sample];
        var bytes = _serializer.ToBinary(original);
        var manifest = _serializer.Manifest(original);

        for (int length = 0; length < bytes.Length; length++)
        {
            var prefix = bytes.AsSpan(0, length).ToArray();
            var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary(prefix, manifest));
            Assert.Contains(manifest, ex.Message);
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void A_valid_payload_followed_by_extra_bytes_throws_a_serialization_exception(string sample)
    {
        var original = Samples[sample];
        var bytes = _serializer.ToBinary(original).Append((byte)0).ToArray();

        var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, _serializer.Manifest(original)));
        Assert.Contains("trailing", ex.Message);
    }

    [Fact]
    public void A_command_length_beyond_the_end_of_the_payload_throws_instead_of_allocating()
    {
        // Chosen: slot 1, one command, then a length of int.MaxValue with no bytes behind it.
        byte[] bytes = [0x02, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07];

        var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, PaxosSerializer.Manifests.Chosen));
        Assert.Contains("count", ex.Message);
    }

    [Fact]
    public void An_entry_count_near_2_to_the_62_throws_instead_of_allocating()
    {
        // AcceptorSnapshot: ballot (0, 0), compacted below 0, then an entry count of 2^62.
        byte[] bytes = [0x00, 0x00, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];

        Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, PaxosSerializer.Manifests.AcceptorSnapshot));
    }

    [Fact]
    public void A_varint_longer_than_64_bits_throws_a_serialization_exception()
    {
        byte[] bytes = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F];

        var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, PaxosSerializer.Manifests.Compacted));
        Assert.Contains("64 bits", ex.Message);
    }

    [Fact]
    public void A_node_id_that_does_not_fit_32_bits_throws_a_serialization_exception()
    {
        // CatchUp: learner id zig-zag(2^40), then slot 0.
        byte[] bytes = [0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00];

        Assert.Throws<SerializationException>(() => _serializer.FromBinary(bytes, PaxosSerializer.Manifests.CatchUp));
    }

    [Fact]
    public void An_unknown_manifest_or_missing_bytes_throw_a_serialization_exception()
    {
        var ex = Assert.Throws<SerializationException>(() => _serializer.FromBinary([0x00], "P9z"));
        Assert.Contains("P9z", ex.Message);
        Assert.Throws<SerializationException>(() => _serializer.FromBinary(null!, PaxosSerializer.Manifests.Prepare));
    }

    [Fact]
    public void Random_garbage_under_any_manifest_either_decodes_or_throws_a_serialization_exception()
    {
        const int seed = 4242;
        var random = new Random(seed);
        var manifests = Samples.Values.Select(_serializer.Manifest).Distinct().ToArray();

        for (int i = 0; i < 20_000; i++)
        {
            var bytes = new byte[random.Next(0, 48)];
            random.NextBytes(bytes);
            var manifest = manifests[random.Next(manifests.Length)];
            try
            {
                _serializer.FromBinary(bytes, manifest);
            }
            catch (SerializationException)
            {
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {seed}, iteration {i}, manifest {manifest}, bytes {Convert.ToHexString(bytes)}: {ex}");
            }
        }
    }
}
