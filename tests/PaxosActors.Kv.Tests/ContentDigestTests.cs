using PaxosActors.Core.Protocol;

namespace PaxosActors.Kv.Tests;

/// <summary><see cref="KvStateMachine.ContentDigest"/>: what /status reports as <c>kv_digest</c>, and the chaos harness
/// compares across nodes. It must name the keys, the values and the slot, and nothing that replicas may hold differently.</summary>
public sealed class ContentDigestTests
{
    private readonly Client _client = new(1);

    [Fact]
    public void Replicas_that_wrote_the_same_entries_in_another_order_have_the_same_digest()
    {
        var a = new Replica();
        var b = new Replica();
        a.Run(_client.Put(1, "x", "1"), new Client(2).Put(1, "y", "2"));
        b.Run(new Client(2).Put(1, "y", "2"), _client.Put(1, "x", "1"));

        Assert.Equal(a.Machine.ContentDigest, b.Machine.ContentDigest);
    }

    [Fact]
    public void A_different_value_a_missing_key_or_another_slot_changes_the_digest()
    {
        var baseline = new Replica();
        baseline.Run(_client.Put(1, "k", "v1"), _client.Put(2, "j", "w"));
        var otherValue = new Replica();
        otherValue.Run(_client.Put(1, "k", "v2"), _client.Put(2, "j", "w"));
        var missingKey = new Replica();
        missingKey.Run(_client.Put(1, "k", "v1"));
        var laterSlot = new Replica();
        laterSlot.Run(_client.Put(1, "k", "v1"), _client.Put(2, "j", "w"));
        laterSlot.NoOps(1);

        Assert.NotEqual(baseline.Machine.ContentDigest, otherValue.Machine.ContentDigest);
        Assert.NotEqual(baseline.Machine.ContentDigest, missingKey.Machine.ContentDigest);
        Assert.NotEqual(baseline.Machine.ContentDigest, laterSlot.Machine.ContentDigest);
        Assert.Equal(baseline.Machine.ContentHash, laterSlot.Machine.ContentHash); // same entries, another slot
    }

    [Fact]
    public void Moving_bytes_between_key_and_value_changes_the_hash()
    {
        var a = new Replica();
        var b = new Replica();
        a.Run(_client.Put(1, "ab", "c"));
        b.Run(_client.Put(1, "a", "bc"));

        Assert.NotEqual(a.Machine.ContentHash, b.Machine.ContentHash);
    }

    [Fact]
    public void Overwrites_deletes_and_cas_keep_the_hash_equal_to_one_computed_from_the_entries_alone()
    {
        var churned = new Replica();
        churned.Run(_client.Put(1, "a", "1"), _client.Put(2, "b", "2"), _client.Put(3, "c", "3"));
        churned.Run(_client.Put(4, "a", "one"), _client.Delete(5, "b"), _client.Cas(6, "c", "3", "three"));
        churned.Run(_client.Cas(7, "c", "wrong", "x"), _client.Put(8, "d", ""), _client.Cas(9, "a", "one", null));
        var direct = new Replica();
        direct.Run(new Client(9).Put(1, "c", "three"), new Client(9).Put(2, "d", ""));

        Assert.Equal(direct.Machine.ContentHash, churned.Machine.ContentHash);
        Assert.Equal(2, churned.Machine.Count);
    }

    [Fact]
    public void An_empty_store_hashes_to_zero_however_it_got_empty()
    {
        var replica = new Replica();
        Assert.Equal(0UL, replica.Machine.ContentHash);
        replica.Run(_client.Put(1, "k", "v"));
        Assert.NotEqual(0UL, replica.Machine.ContentHash);
        replica.Run(_client.Delete(2, "k"));
        Assert.Equal(0UL, replica.Machine.ContentHash);
    }

    [Fact]
    public void A_restored_snapshot_has_the_digest_of_the_state_it_was_taken_from_and_keeps_it_up_to_date()
    {
        var original = new Replica();
        original.Run(_client.Put(1, "k", "v"), new Client(2).Put(1, "ключ", new string('x', 600)));
        original.Run(_client.Delete(2, "gone"), new Client(3).Put(1, "e", ""));
        var restored = Replica.Restore(original.Machine.Snapshot());

        Assert.Equal(original.Machine.ContentDigest, restored.Machine.ContentDigest);
        original.Run(_client.Put(3, "k", "v2"));
        restored.Run(_client.Put(3, "k", "v2"));
        Assert.Equal(original.Machine.ContentDigest, restored.Machine.ContentDigest);
    }

    [Fact]
    public void Sessions_are_not_part_of_the_content_hash()
    {
        var a = new Replica();
        var b = new Replica();
        a.Run(_client.Put(1, "k", "v"), new Client(2).Get(1, "k"));
        b.Run(new Client(5).Put(1, "k", "v"));

        Assert.Equal(a.Machine.ContentHash, b.Machine.ContentHash);
        Assert.NotEqual(a.Machine.Digest(), b.Machine.Digest()); // the whole-state digest does see them
    }

    [Fact]
    public void Values_differing_in_one_bit_anywhere_give_different_hashes()
    {
        var value = new byte[70_000];
        new Random(3).NextBytes(value);
        var hashes = new HashSet<ulong>();
        for (int bit = 0; bit < value.Length * 8; bit += 997)
        {
            var flipped = (byte[])value.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            var m = new KvStateMachine();
            m.Apply(0, SlotValue.Of(KvCodec.Encode(new KvCommand.Put(new CommandId(1, 1), 0, "k", flipped))));
            Assert.True(hashes.Add(m.ContentHash), $"bit {bit} collided");
        }
    }
}
