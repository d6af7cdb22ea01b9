using System.Buffers.Binary;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Kv.Tests;

public sealed class SnapshotTests
{
    private readonly Replica _replica = new();
    private readonly Client _client = new(1);

    private void Populate()
    {
        _replica.Run(_client.Put(1, "b", "2"), _client.Put(2, "a", "1"), new Client(2).Put(1, "c", ""));
        _replica.Run(_client.Cas(3, "a", "wrong", "x"), new Client(3).Get(5, "b"), new Client(2).Delete(2, "zz"));
        _replica.NoOps(2);
    }

    [Fact]
    public void Snapshot_and_restore_give_an_equal_digest_and_state()
    {
        Populate();

        var restored = KvStateMachine.Restore(_replica.Machine.Snapshot());

        Assert.Equal(_replica.Machine.Digest(), restored.Digest());
        Assert.Equal(_replica.Machine.Snapshot(), restored.Snapshot());
        Assert.Equal(_replica.Machine.AppliedSlot, restored.AppliedSlot);
        Assert.Equal(_replica.Machine.Count, restored.Count);
        Assert.Equal(_replica.Machine.Bytes, restored.Bytes);
        Assert.Equal(_replica.Machine.SessionCount, restored.SessionCount);
    }

    [Fact]
    public void A_restored_machine_still_deduplicates_retries_with_the_original_results()
    {
        Populate();
        var restored = Replica.Restore(_replica.Machine.Snapshot());

        var retry = restored.Single(_client.Cas(3, "a", "wrong", "x"));
        var stillNew = restored.Single(_client.Cas(4, "a", "1", "y"));

        Assert.Equal(KvResult.Failed(Client.Bytes("1")), retry);
        Assert.True(stillNew.Swapped);
        Assert.Equal(1, restored.Machine.AppliedCommands); // only seq 4 ran
        Assert.Equal(1, restored.Machine.DuplicateCommands);
    }

    [Fact]
    public void A_restored_machine_behaves_like_the_original_from_then_on()
    {
        Populate();
        var restored = Replica.Restore(_replica.Machine.Snapshot());
        KvCommand[][] more =
        [
            [_client.Put(1, "b", "again"), new Client(2).Cas(3, "c", "", null)],
            [new Client(4).Put(1, "d", "4"), new Client(3).Get(5, "b")],
        ];

        foreach (var slot in more)
        {
            var expected = _replica.Run(slot);
            var actual = restored.Run(slot);
            Assert.Equal(expected, actual);
        }

        Assert.Equal(_replica.Machine.Digest(), restored.Machine.Digest());
    }

    [Fact]
    public void Restoring_skips_slots_the_snapshot_already_holds()
    {
        Populate();
        var restored = KvStateMachine.Restore(_replica.Machine.Snapshot());

        restored.Apply(0, SlotValue.Of(KvCodec.Encode(_client.Put(100, "a", "replayed"))));

        Assert.Equal(_replica.Machine.Digest(), restored.Digest());
    }

    [Fact]
    public void Session_expiry_continues_from_the_snapshot()
    {
        var original = new Replica(sessionExpirySlots: 5);
        original.Run(_client.Put(1, "k", "v"));
        original.NoOps(2);
        var restored = Replica.Restore(original.Machine.Snapshot(), sessionExpirySlots: 5);

        restored.NoOps(2);                       // slots 3, 4
        Assert.Equal(1, restored.Machine.SessionCount);
        restored.NoOps(1);                       // slot 5: five slots after slot 0
        Assert.Equal(0, restored.Machine.SessionCount);
    }

    [Fact]
    public void An_empty_machine_snapshots_and_restores()
    {
        var empty = new KvStateMachine();

        var restored = KvStateMachine.Restore(empty.Snapshot());

        Assert.Equal(-1, restored.AppliedSlot);
        Assert.Equal(empty.Digest(), restored.Digest());
    }

    [Fact]
    public void The_snapshot_does_not_depend_on_insertion_order()
    {
        var a = new KvStateMachine();
        var b = new KvStateMachine();
        a.Apply(0, SlotValue.Of(KvCodec.Encode(new Client(1).Put(1, "x", "1")), KvCodec.Encode(new Client(2).Put(1, "y", "2"))));
        b.Apply(0, SlotValue.Of(KvCodec.Encode(new Client(2).Put(1, "y", "2")), KvCodec.Encode(new Client(1).Put(1, "x", "1"))));

        Assert.Equal(a.Snapshot(), b.Snapshot());
        Assert.Equal(a.Digest(), b.Digest());
    }

    [Fact]
    public void Different_states_have_different_digests()
    {
        var a = new Replica();
        var b = new Replica();
        a.Run(_client.Put(1, "k", "v1"));
        b.Run(_client.Put(1, "k", "v2"));

        Assert.NotEqual(a.Machine.Digest(), b.Machine.Digest());
    }

    [Fact]
    public void Every_flipped_bit_and_every_truncation_is_a_format_exception()
    {
        Populate();
        var snapshot = _replica.Machine.Snapshot();

        for (int bit = 0; bit < snapshot.Length * 8; bit++)
        {
            var corrupt = (byte[])snapshot.Clone();
            corrupt[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.Throws<FormatException>(() => KvStateMachine.Restore(corrupt));
        }
        for (int length = 0; length < snapshot.Length; length++)
        {
            var prefix = snapshot[..length];
            Assert.Throws<FormatException>(() => KvStateMachine.Restore(prefix));
        }
    }

    [Fact]
    public void A_snapshot_of_an_unknown_version_is_refused_even_with_a_valid_checksum()
    {
        var body = new KvStateMachine().Snapshot()[..^8];
        body[0] = 99;

        var ex = Assert.Throws<FormatException>(() => KvStateMachine.Restore(WithChecksum(body)));
        Assert.Contains("version 99", ex.Message);
    }

    [Fact]
    public void A_well_checksummed_snapshot_with_duplicate_keys_is_refused()
    {
        // version 1, applied slot 0, two entries "a"="" and "a"="", no sessions.
        byte[] body = [KvStateMachine.SnapshotFormatVersion, 0, 2, 1, (byte)'a', 0, 1, (byte)'a', 0, 0];

        var ex = Assert.Throws<FormatException>(() => KvStateMachine.Restore(WithChecksum(body)));
        Assert.Contains("out of order", ex.Message);
    }

    [Fact]
    public void A_well_checksummed_snapshot_with_a_huge_count_is_refused_without_allocating_it()
    {
        byte[] body = [KvStateMachine.SnapshotFormatVersion, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F];

        var ex = Assert.Throws<FormatException>(() => KvStateMachine.Restore(WithChecksum(body)));
        Assert.Contains("entry count", ex.Message);
    }

    [Fact]
    public void Two_replicas_fed_the_same_slots_have_the_same_digest()
    {
        var a = new Replica();
        var b = new Replica();
        var random = new Random(42);
        var clients = Enumerable.Range(1, 5).Select(i => new Client((ulong)i)).ToArray();
        var seqs = new long[clients.Length];
        for (int slot = 0; slot < 500; slot++)
        {
            var encoded = new List<byte[]>();
            for (int n = random.Next(0, 4); n > 0; n--)
            {
                int c = random.Next(clients.Length);
                // Mostly new seqs, sometimes a retry of an earlier one, sometimes garbage.
                long seq = random.Next(4) == 0 ? Math.Max(1, seqs[c] - random.Next(3)) : ++seqs[c];
                clients[c].AckedBelow = Math.Max(clients[c].AckedBelow, seqs[c] - 5);
                if (seq < clients[c].AckedBelow) seq = seqs[c];
                string key = $"k{random.Next(8)}";
                KvCommand command = random.Next(4) switch
                {
                    0 => clients[c].Put(seq, key, $"v{random.Next(4)}"),
                    1 => clients[c].Delete(seq, key),
                    2 => clients[c].Cas(seq, key, random.Next(2) == 0 ? null : $"v{random.Next(4)}", random.Next(3) == 0 ? null : $"v{random.Next(4)}"),
                    _ => clients[c].Get(seq, key),
                };
                encoded.Add(random.Next(20) == 0 ? [0xEE] : KvCodec.Encode(command));
            }
            var slotCommands = encoded.ToArray();
            Assert.Equal(a.RunRaw(slotCommands), b.RunRaw(slotCommands));
        }

        Assert.Equal(a.Machine.Digest(), b.Machine.Digest());
        Assert.Equal(a.Machine.Snapshot(), b.Machine.Snapshot());
        Assert.True(a.Machine.DuplicateCommands > 0 && a.Machine.UndecodableCommands > 0, "the history should exercise retries and garbage");
        Assert.Equal(a.Machine.Digest(), KvStateMachine.Restore(a.Machine.Snapshot()).Digest());
    }

    private static byte[] WithChecksum(byte[] body)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte x in body) hash = (hash ^ x) * 1099511628211UL;
        var checksum = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(checksum, hash);
        return [.. body, .. checksum];
    }
}
