using Akka.Configuration;

namespace PaxosActors.Hosting;

/// <summary>
/// Maps role names to <see cref="INodeRole"/> classes: <c>paxos.roles { name = "Type, Assembly" }</c> in HOCON,
/// plus roles registered in code. The roles that run Paxos agents (acceptor, proposer, learner) are built in (<see cref="AgentRoles"/>).
/// </summary>
public sealed class RoleRegistry
{
    private readonly Dictionary<string, Func<INodeRole>> _roles = new(StringComparer.Ordinal);

    /// <summary>The roles registered in code in <paramref name="registered"/> (not changed), plus those <c>paxos.roles</c>
    /// maps, which win for a name in both; a type that cannot be loaded fails with a <see cref="ConfigurationException"/>.</summary>
    public static RoleRegistry FromConfig(Config config, RoleRegistry? registered = null)
    {
        var registry = new RoleRegistry();
        if (registered is not null)
            foreach (var (name, create) in registered._roles) registry._roles[name] = create;
        var section = config.GetConfig("paxos.roles");
        if (section is null || section.IsEmpty) return registry;
        foreach (var (name, _) in section.AsEnumerable())
        {
            string typeName = section.GetString(name);
            var type = Type.GetType(typeName, throwOnError: false)
                       ?? throw new ConfigurationException($"paxos.roles.{name}: cannot load type '{typeName}'");
            if (!typeof(INodeRole).IsAssignableFrom(type))
                throw new ConfigurationException($"paxos.roles.{name}: {type.FullName} does not implement INodeRole");
            registry.Add(name, () => (INodeRole)Activator.CreateInstance(type)!);
        }
        return registry;
    }

    public RoleRegistry Add(string name, Func<INodeRole> create)
    {
        if (AgentRoles.Names.Contains(name)) throw new ConfigurationException($"paxos.roles.{name}: '{name}' is a built-in Paxos role");
        _roles[name] = create;
        return this;
    }

    /// <summary>Creates the roles named in <paramref name="names"/> (Paxos roles skipped), in order.</summary>
    public IReadOnlyList<INodeRole> Create(IEnumerable<string> names)
    {
        var roles = new List<INodeRole>();
        foreach (string name in names)
        {
            if (AgentRoles.Names.Contains(name) || name.StartsWith(Routing.ClusterDirectory.NodeRolePrefix, StringComparison.Ordinal)) continue;
            if (!_roles.TryGetValue(name, out var create))
                throw new ConfigurationException($"akka.cluster.roles: no role named '{name}' (known: {string.Join(", ", AgentRoles.Names.Concat(_roles.Keys))}); map it in paxos.roles");
            var role = create();
            if (role.Name != name) throw new ConfigurationException($"paxos.roles.{name}: the class says its name is '{role.Name}'");
            roles.Add(role);
        }
        return roles;
    }
}
