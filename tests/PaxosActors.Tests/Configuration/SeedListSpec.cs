using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Tests.Configuration;

/// <summary><c>paxos.seeds</c> ("host:port,host:port") becomes the seed nodes' Akka addresses.</summary>
public sealed class SeedListSpec
{
    [Fact]
    public void Host_port_entries_become_addresses_of_the_system()
    {
        Assert.Equal(["akka.tcp://paxos@10.0.0.1:4051", "akka.tcp://paxos@node-b.example:4052"],
            SeedList.Parse(" 10.0.0.1:4051 ,node-b.example:4052,", "paxos"));
    }

    [Fact]
    public void The_protocol_can_be_a_transport_adapters()
    {
        Assert.Equal(["akka.trttl.tcp://paxos@127.0.0.1:4051"], SeedList.Parse("127.0.0.1:4051", "paxos", "akka.trttl.tcp"));
    }

    [Fact]
    public void An_entry_that_is_already_an_address_is_kept()
    {
        Assert.Equal(["akka.tcp://other@h:1", "akka.tcp://paxos@h:2"], SeedList.Parse("akka.tcp://other@h:1,h:2", "paxos"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData(",")]
    public void No_seeds_is_an_empty_list(string? seeds) => Assert.Empty(SeedList.Parse(seeds, "paxos"));

    [Theory]
    [InlineData("localhost")]
    [InlineData(":4051")]
    [InlineData("h:port")]
    [InlineData("h:0")]
    [InlineData("h:65536")]
    public void An_entry_that_is_not_host_port_fails_naming_paxos_seeds(string entry)
    {
        var e = Assert.Throws<ConfigurationException>(() => SeedList.Parse($"h:1,{entry}", "paxos"));
        Assert.StartsWith("paxos.seeds:", e.Message);
        Assert.Contains($"'{entry}'", e.Message);
    }
}
