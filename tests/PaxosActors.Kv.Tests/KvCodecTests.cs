namespace PaxosActors.Kv.Tests;

public sealed class KvCodecTests
{
    public static TheoryData<KvCommand> Commands() => new()
    {
        new KvCommand.Put(new CommandId(1, 1), 0, "k", new byte[] { 1, 2, 3 }),
        new KvCommand.Put(new CommandId(ulong.MaxValue, long.MaxValue), long.MinValue, "", ReadOnlyMemory<byte>.Empty),
        new KvCommand.Put(new CommandId(7, -5), -9, "ключ-🔑", new byte[300]),
        new KvCommand.Delete(new CommandId(2, 40), 39, "gone"),
        new KvCommand.CompareAndSet(new CommandId(3, 3), 3, "c", null, null),
        new KvCommand.CompareAndSet(new CommandId(3, 4), 3, "c", new byte[] { 9 }, null),
        new KvCommand.CompareAndSet(new CommandId(3, 5), 3, "c", null, new byte[] { 8 }),
        new KvCommand.CompareAndSet(new CommandId(3, 6), 3, "c", ReadOnlyMemory<byte>.Empty, new byte[] { 7, 7 }),
        new KvCommand.Get(new CommandId(0, 0), 0, "read"),
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Every_command_decodes_to_an_equal_command(KvCommand command)
    {
        var decoded = KvCodec.Decode(KvCodec.Encode(command));

        Assert.Equal(command, decoded);
        Assert.Equal(command.GetType(), decoded.GetType());
    }

    [Fact]
    public void An_empty_expected_value_is_not_confused_with_absent()
    {
        var mustBeEmpty = new KvCommand.CompareAndSet(new CommandId(1, 1), 0, "k", ReadOnlyMemory<byte>.Empty, null);
        var mustBeAbsent = mustBeEmpty with { Expected = null };

        Assert.NotEqual(KvCodec.Encode(mustBeEmpty), KvCodec.Encode(mustBeAbsent));
        Assert.True(((KvCommand.CompareAndSet)KvCodec.Decode(KvCodec.Encode(mustBeEmpty))).Expected.HasValue);
        Assert.False(((KvCommand.CompareAndSet)KvCodec.Decode(KvCodec.Encode(mustBeAbsent))).Expected.HasValue);
    }

    [Fact]
    public void The_first_byte_is_the_format_version_and_a_small_command_stays_small()
    {
        var bytes = KvCodec.Encode(new KvCommand.Put(new CommandId(5, 100), 99, "k", new byte[] { 1 }));

        Assert.Equal(KvCodec.FormatVersion, bytes[0]);
        // version, op, client, seq (2 bytes zigzag), ack distance, key len + 1, value len + 1
        Assert.Equal(10, bytes.Length);
    }

    [Fact]
    public void Decoded_values_do_not_alias_the_input_buffer()
    {
        var bytes = KvCodec.Encode(new KvCommand.Put(new CommandId(1, 1), 0, "k", new byte[] { 42 }));
        var put = (KvCommand.Put)KvCodec.Decode(bytes);

        bytes[^1] = 0;

        Assert.Equal(42, put.Value.Span[0]);
    }

    [Fact]
    public void Every_truncation_of_every_command_is_a_format_exception()
    {
        foreach (KvCommand command in Commands())
        {
            var bytes = KvCodec.Encode(command);
            for (int length = 0; length < bytes.Length; length++)
            {
                var prefix = bytes[..length];
                Assert.Throws<FormatException>(() => KvCodec.Decode(prefix));
            }
        }
    }

    [Fact]
    public void Trailing_bytes_are_a_format_exception()
    {
        var bytes = KvCodec.Encode(new KvCommand.Get(new CommandId(1, 1), 0, "k"));

        var ex = Assert.Throws<FormatException>(() => KvCodec.Decode([.. bytes, 0]));
        Assert.Contains("trailing", ex.Message);
    }

    [Fact]
    public void An_unknown_version_or_operation_is_a_format_exception_that_says_so()
    {
        var bytes = KvCodec.Encode(new KvCommand.Get(new CommandId(1, 1), 0, "k"));

        var badVersion = (byte[])bytes.Clone();
        badVersion[0] = 2;
        var badOp = (byte[])bytes.Clone();
        badOp[1] = 99;

        Assert.Contains("version 2", Assert.Throws<FormatException>(() => KvCodec.Decode(badVersion)).Message);
        Assert.Contains("operation 99", Assert.Throws<FormatException>(() => KvCodec.Decode(badOp)).Message);
    }

    [Fact]
    public void A_corrupt_huge_length_is_rejected_without_allocating_it()
    {
        // version, Put, client 1, seq 1 (zigzag 2), ack distance 0, then a key length of 2^62.
        byte[] bytes = [KvCodec.FormatVersion, 1, 1, 2, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();

        var ex = Assert.Throws<FormatException>(() => KvCodec.Decode(bytes));

        Assert.Contains("key length", ex.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore < 1_000_000);
    }

    [Fact]
    public void A_varint_longer_than_64_bits_is_a_format_exception()
    {
        byte[] bytes = [KvCodec.FormatVersion, 4, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0];

        Assert.Contains("varint", Assert.Throws<FormatException>(() => KvCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void A_key_that_is_not_utf8_is_a_format_exception()
    {
        byte[] bytes = [KvCodec.FormatVersion, 4, 1, 2, 0, 2, 0xC3, 0x28];

        Assert.Contains("UTF-8", Assert.Throws<FormatException>(() => KvCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void Unknown_compare_and_set_flags_are_a_format_exception()
    {
        byte[] bytes = [KvCodec.FormatVersion, 3, 1, 2, 0, 1, (byte)'k', 0x04];

        Assert.Contains("flags", Assert.Throws<FormatException>(() => KvCodec.Decode(bytes)).Message);
    }

    [Fact]
    public void An_acked_below_reaching_past_the_smallest_seq_is_a_format_exception()
    {
        // seq = long.MinValue (zigzag: all ones), then a distance of 1.
        byte[] bytes = [KvCodec.FormatVersion, 4, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 1, 0];

        Assert.Throws<FormatException>(() => KvCodec.Decode(bytes));
    }

    [Fact]
    public void Random_garbage_only_ever_fails_with_a_format_exception()
    {
        var random = new Random(20240601);
        var valid = KvCodec.Encode(new KvCommand.CompareAndSet(new CommandId(9, 9), 1, "key", new byte[] { 1, 2 }, new byte[] { 3 }));
        int decoded = 0, rejected = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(0, 40)];
                random.NextBytes(bytes);
            }
            else
            {
                // Flip a few bits of a valid command: close to valid is where bounds checks are tested hardest.
                bytes = (byte[])valid.Clone();
                for (int flips = random.Next(1, 4); flips > 0; flips--) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            }
            try
            {
                KvCodec.Decode(bytes);
                decoded++;
            }
            catch (FormatException)
            {
                rejected++;
            }
        }
        Assert.Equal(20_000, decoded + rejected);
        Assert.True(rejected > 10_000, $"only {rejected} rejected");
    }

    [Fact]
    public void A_command_cannot_acknowledge_its_own_seq()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new KvCommand.Get(new CommandId(1, 5), 6, "k"));
    }

    [Fact]
    public void A_key_that_is_not_valid_utf16_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => KvCodec.Encode(new KvCommand.Get(new CommandId(1, 1), 0, "\ud800")));
    }
}
