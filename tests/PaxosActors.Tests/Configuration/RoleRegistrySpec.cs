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

/// <summary>Roles that cannot be loaded fail at start with the reason, whatever it is.</summary>
public sealed class RoleLoadingSpec
{
    public sealed class NotARole;

    public sealed class NeedsArguments(string name) : INodeRole
    {
        public string Name => name;
        public void Start(NodeContext node) { }
    }

    public sealed class Throws : INodeRole
    {
        public Throws() => throw new InvalidOperationException("no database configured");
        public string Name => "throws";
        public void Start(NodeContext node) { }
    }

    private static string Reason(string mapping)
    {
        var config = ConfigurationFactory.ParseString(mapping);
        return Assert.Throws<ConfigurationException>(() => RoleRegistry.FromConfig(config).Create(["audit"])).Message;
    }

    private static string Quoted(Type type) => HoconString.Quote($"{type.FullName}, {type.Assembly.GetName().Name}");

    [Fact]
    public void An_assembly_that_is_neither_the_programs_nor_in_the_roles_folder_is_named_with_where_it_was_looked_for()
    {
        string reason = Reason("paxos.roles.audit = \"Audit.AuditRole, Audit\"");
        Assert.Contains("paxos.roles.audit: cannot load type 'Audit.AuditRole, Audit'", reason);
        Assert.Contains("the assembly 'Audit' is not part of this program and paxos.roles-dir is not set", reason);
    }

    [Fact]
    public void A_type_missing_from_its_assembly_is_named_with_the_roles_the_assembly_has()
    {
        string reason = Reason($"paxos.roles.audit = \"No.Such.Type, {typeof(RoleLoadingSpec).Assembly.GetName().Name}\"");
        Assert.Contains("has no type No.Such.Type (its roles:", reason);
        Assert.Contains(typeof(Throws).FullName!, reason);
    }

    [Fact]
    public void A_type_that_is_not_a_role_lacks_a_parameterless_constructor_or_throws_in_it_says_so()
    {
        Assert.Contains("does not implement INodeRole", Reason($"paxos.roles.audit = {Quoted(typeof(NotARole))}"));
        Assert.Contains("has no public parameterless constructor", Reason($"paxos.roles.audit = {Quoted(typeof(NeedsArguments))}"));
        string threw = Reason($"paxos.roles.audit = {Quoted(typeof(Throws))}");
        Assert.Contains("the constructor of", threw);
        Assert.Contains("InvalidOperationException: no database configured", threw);
    }

    [Fact]
    public void A_missing_file_or_folder_is_named_with_its_full_path()
    {
        string dir = Path.Combine(Path.GetTempPath(), "no-such-roles-" + Guid.NewGuid().ToString("N"));
        Assert.Contains($"no such file: {Path.Combine(dir, "Audit.dll")}", Reason($"paxos.roles.audit = {HoconString.Quote($"Audit.AuditRole, {dir}/Audit.dll")}"));
        Assert.Contains($"paxos.roles-dir: no such folder: {dir}", Reason($"paxos.roles-dir = {HoconString.Quote(dir)}"));
    }

    [Fact]
    public void A_roles_folder_ignores_files_that_are_not_role_assemblies_and_the_programs_own_assemblies()
    {
        string dir = Directory.CreateTempSubdirectory("paxos-roles-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "notes.dll"), "not an assembly");
            File.Copy(typeof(INodeRole).Assembly.Location, Path.Combine(dir, "PaxosActors.dll"));
            File.Copy(typeof(RoleLoadingSpec).Assembly.Location, Path.Combine(dir, Path.GetFileName(typeof(RoleLoadingSpec).Assembly.Location)));

            Assert.Empty(RoleAssemblies.Scan(dir));
            string reason = Reason($"paxos.roles-dir = {HoconString.Quote(dir)}");
            Assert.Contains($"no role named 'audit'", reason);
            Assert.Contains($"paxos.roles-dir is {dir}", reason);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
