using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Tests.Configuration;

/// <summary>Text quoted into HOCON reads back as exactly that text, never as HOCON syntax.</summary>
public sealed class HoconStringSpec
{
    [Theory]
    [InlineData("plain")]
    [InlineData("")]
    [InlineData(@"C:\data\paxos")]
    [InlineData("say \"hi\"")]
    [InlineData("two\nlines\r\nand\ttabs")]
    [InlineData("${PAXOS_SECRET} and ${?X}")]
    [InlineData("# not a comment // nor this")]
    [InlineData("a, b] } = c")]
    [InlineData("/tmp/ünïcødé ключ 😀")]
    [InlineData("bell\u0007 nul\u0000 escape\u001b")]
    public void A_quoted_string_reads_back_as_itself(string text)
    {
        var config = ConfigurationFactory.ParseString($"a.b = {HoconString.Quote(text)}\nafter = 1");
        Assert.Equal(text, config.GetString("a.b"));
        Assert.Equal(1, config.GetInt("after"));
    }

    [Fact]
    public void A_quoted_list_reads_back_as_its_items()
    {
        string[] items = ["acceptor", "node-1", "with \"quotes\"", "a,b"];
        var config = ConfigurationFactory.ParseString($"roles = {HoconString.QuoteList(items)}");
        Assert.Equal(items, config.GetStringList("roles"));
        Assert.Empty(ConfigurationFactory.ParseString($"roles = {HoconString.QuoteList([])}").GetStringList("roles"));
    }
}
