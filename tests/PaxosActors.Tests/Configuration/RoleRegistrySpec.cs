using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Hosting;

namespace PaxosActors.Tests.Configuration;

/// <summary>Roles come from code (<see cref="RoleRegistry.Add"/>) and from <c>paxos.roles</c> in HOCON, together.</summary>
public sealed class RoleRegistrySpec
{
    private sealed class CodeRole : INodeRole
    {
        public string Name => "shared";
        public void Start(NodeContext node) { }
    }

    public sealed class ConfiguredRole : INodeRole
    {
        public string Name => "shared";
        public void Start(NodeContext node) { }
    }

    private sealed class OtherRole : INodeRole
    {
        public string Name => "other";
        public void Start(NodeContext node) { }
    }

    private static Config Mapping => ConfigurationFactory.ParseString(
        $"paxos.roles.shared = {HoconString.Quote(typeof(ConfiguredRole).AssemblyQualifiedName!)}");

    [Fact]
    public void Roles_registered_in_code_and_mapped_in_hocon_are_both_known_and_hocon_wins_a_name_in_both()
    {
        var code = new RoleRegistry().Add("shared", () => new CodeRole()).Add("other", () => new OtherRole());

        var roles = RoleRegistry.FromConfig(Mapping, code).Create(["acceptor", "shared", "other"]);

        Assert.Equal([typeof(ConfiguredRole), typeof(OtherRole)], roles.Select(r => r.GetType()));
        // The registry passed in is not changed.
        Assert.IsType<CodeRole>(Assert.Single(code.Create(["shared"])));
    }

    [Fact]
    public void The_library_defaults_map_no_role_and_know_nothing_of_the_key_value_store()
    {
        var defaults = PaxosSettings.DefaultConfig;
        Assert.True(defaults.GetConfig("paxos.roles") is null || defaults.GetConfig("paxos.roles").IsEmpty);
        Assert.False(defaults.HasPath("paxos.kv"));
        Assert.False(defaults.HasPath("paxos.http"));
        var e = Assert.Throws<ConfigurationException>(() => RoleRegistry.FromConfig(defaults).Create(["kv"]));
        Assert.Contains("no role named 'kv'", e.Message);
    }
}
