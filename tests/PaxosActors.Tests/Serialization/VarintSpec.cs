using PaxosActors.Core.Wire;

namespace PaxosActors.Tests.Serialization;

/// <summary>The one varint codec under PaxosSerializer and the key-value store's formats: LEB128 and zig-zag,
/// exact at the edges, and loud about input that ends early or runs past 64 bits.</summary>
public sealed class VarintSpec
{
    /// <summary>0, 1, every power of two and its neighbours, and the ends of the 32- and 64-bit ranges.</summary>
    public static IEnumerable<ulong> EdgeValues()
    {
        var values = new SortedSet<ulong> { 0, 1, 127, 128, 255, 256, 16_383, 16_384, uint.MaxValue, long.MaxValue, (ulong)long.MaxValue + 1, ulong.MaxValue - 1, ulong.MaxValue };
        for (int bit = 0; bit < 64; bit++)
        {
            ulong p = 1UL << bit;
            values.Add(p - 1);
            values.Add(p);
            values.Add(p + 1);
        }
        return values;
    }

    public static IEnumerable<long> SignedEdgeValues() =>
        EdgeValues().SelectMany(v => new[] { unchecked((long)v), unchecked(-(long)v) })
            .Concat([0, -1, 1, -64, 63, -65, 64, int.MinValue, int.MaxValue, long.MinValue, long.MinValue + 1, long.MaxValue])
            .Distinct();

    [Theory]
    [InlineData(0UL, "00")]
    [InlineData(1UL, "01")]
    [InlineData(127UL, "7F")]
    [InlineData(128UL, "8001")]
    [InlineData(300UL, "AC02")]
    [InlineData(16_384UL, "808001")]
    [InlineData(ulong.MaxValue, "FFFFFFFFFFFFFFFFFF01")]
    public void Writes_7_bits_a_byte_least_significant_group_first(ulong value, string hex)
    {
        var buffer = new byte[Varint.MaxLength];
        int n = Varint.Write(buffer, value);
        Assert.Equal(hex, Convert.ToHexString(buffer, 0, n));
        Assert.Equal(n, Varint.Length(value));
    }

    [Theory]
    [InlineData(0L, 0UL)]
    [InlineData(-1L, 1UL)]
    [InlineData(1L, 2UL)]
    [InlineData(-2L, 3UL)]
    [InlineData(long.MaxValue, ulong.MaxValue - 1)]
    [InlineData(long.MinValue, ulong.MaxValue)]
    public void Zig_zag_interleaves_negative_and_positive_numbers(long value, ulong mapped)
    {
        Assert.Equal(mapped, Varint.ZigZag(value));
        Assert.Equal(value, Varint.UnZigZag(mapped));
    }

    [Fact]
    public void Every_edge_value_round_trips_in_the_length_it_claims()
    {
        var buffer = new byte[Varint.MaxLength + 3];
        foreach (ulong value in EdgeValues())
        {
            buffer.AsSpan().Fill(0xEE); // what follows the varint must not be read
            int written = Varint.Write(buffer, value);
            Assert.Equal(Varint.Length(value), written);
            Assert.Equal(value, Varint.Read(buffer, out int read));
            Assert.Equal(written, read);
            Assert.Equal(Varint.Status.Ok, Varint.TryRead(buffer.AsSpan(0, written), out ulong again, out read));
            Assert.Equal((value, written), (again, read));
        }
    }

    [Fact]
    public void Every_signed_edge_value_round_trips_in_the_length_it_claims()
    {
        var buffer = new byte[Varint.MaxLength];
        foreach (long value in SignedEdgeValues())
        {
            int written = Varint.WriteSigned(buffer, value);
            Assert.Equal(Varint.SignedLength(value), written);
            Assert.Equal(value, Varint.ReadSigned(buffer.AsSpan(0, written), out int read));
            Assert.Equal(written, read);
        }
        Assert.Equal(1, Varint.SignedLength(-1)); // an applied slot of -1 stays one byte
        Assert.Equal(Varint.MaxLength, Varint.SignedLength(long.MinValue));
    }

    [Fact]
    public void Writing_into_a_buffer_too_short_for_the_value_throws_and_writes_nothing_past_it()
    {
        var buffer = new byte[4];
        var e = Assert.Throws<ArgumentException>(() => Varint.Write(buffer.AsSpan(0, 2), 16_384));
        Assert.Contains("does not fit", e.Message);
        Assert.Equal(new byte[4], buffer);
        Assert.Equal(2, Varint.Write(buffer.AsSpan(0, 2), 16_383));
    }

    [Fact]
    public void Input_that_ends_inside_a_varint_is_truncated()
    {
        var buffer = new byte[Varint.MaxLength];
        foreach (ulong value in EdgeValues())
        {
            int written = Varint.Write(buffer, value);
            for (int cut = 0; cut < written; cut++)
            {
                Assert.Equal(Varint.Status.Truncated, Varint.TryRead(buffer.AsSpan(0, cut), out _, out int length));
                Assert.Equal(cut, length);
                var e = Assert.Throws<FormatException>(() => Varint.Read(buffer.AsSpan(0, cut), out _));
                Assert.StartsWith("truncated varint", e.Message);
            }
        }
        Assert.Contains("no bytes", Assert.Throws<FormatException>(() => Varint.Read([], out _)).Message);
    }

    [Theory]
    [InlineData("FFFFFFFFFFFFFFFFFF02")] // bit 64 set in the tenth byte
    [InlineData("FFFFFFFFFFFFFFFFFF7F")]
    [InlineData("80808080808080808080")] // a tenth byte that says more follows
    [InlineData("8080808080808080808001")]
    public void A_varint_longer_than_64_bits_is_malformed(string hex)
    {
        byte[] bytes = Convert.FromHexString(hex);
        Assert.Equal(Varint.Status.TooLong, Varint.TryRead(bytes, out _, out int length));
        Assert.Equal(Varint.MaxLength, length);
        var e = Assert.Throws<FormatException>(() => Varint.Read(bytes, out _));
        Assert.Contains("longer than 64 bits", e.Message);
    }

    [Fact]
    public void A_padded_encoding_that_fits_64_bits_reads_as_its_value()
    {
        // Not what Write produces, but both formats have always accepted it: reading must stay byte-compatible.
        Assert.Equal(0UL, Varint.Read([0x80, 0x00], out int length));
        Assert.Equal(2, length);
    }
}
