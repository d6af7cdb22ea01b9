using Akka.Configuration;

namespace PaxosActors.Hosting;

/// <summary>
/// Maps role names to <see cref="INodeRole"/> classes: roles registered in code, those found in a plugin folder
/// (<c>paxos.roles-dir</c>, see <see cref="RoleAssemblies"/>), and <c>paxos.roles { name = "Type, Assembly" }</c> in HOCON.
/// The roles that run Paxos agents (acceptor, proposer, learner) are built in (<see cref="AgentRoles"/>).
/// </summary>
public sealed class RoleRegistry
{
    private readonly Dictionary<string, (Func<INodeRole> Create, string Source)> _roles = new(StringComparer.Ordinal);
    private string? _rolesDir;

    /// <summary>
    /// The roles registered in code in <paramref name="registered"/> (not changed), those in <c>paxos.roles-dir</c>, and
    /// those <c>paxos.roles</c> maps, which win for a name also found elsewhere. A folder or type that cannot be loaded,
    /// and a name both registered in code and found in the folder, fail with a <see cref="ConfigurationException"/> that
    /// says why.
    /// </summary>
    public static RoleRegistry FromConfig(Config config, RoleRegistry? registered = null)
    {
        var registry = new RoleRegistry();
        if (registered is not null)
            foreach (var (name, role) in registered._roles) registry._roles[name] = role;

        string dir = config.GetString("paxos.roles-dir", "") ?? "";
        if (dir.Length > 0)
        {
            registry._rolesDir = Path.GetFullPath(dir);
            foreach (var found in RoleAssemblies.Scan(dir))
            {
                if (registry._roles.TryGetValue(found.Name, out var other))
                    throw new ConfigurationException($"paxos.roles-dir: the role '{found.Name}' of {found.Source} is also {other.Source}; rename one");
                if (AgentRoles.Names.Contains(found.Name))
                    throw new ConfigurationException($"paxos.roles-dir: {found.Type.FullName} ({found.Source}) calls itself '{found.Name}', a built-in Paxos role");
                registry._roles[found.Name] = (found.Create, found.Source);
            }
        }

        var section = config.GetConfig("paxos.roles");
        if (section is null || section.IsEmpty) return registry;
        foreach (var (name, _) in section.AsEnumerable())
        {
            string key = $"paxos.roles.{name}";
            string value = section.GetString(name) ?? "";
            var type = Resolve(name, value, registry._rolesDir, key);
            if (AgentRoles.Names.Contains(name)) throw new ConfigurationException($"{key}: '{name}' is a built-in Paxos role");
            registry._roles[name] = (() => RoleAssemblies.Instantiate(type, key), key);
        }
        return registry;
    }

    /// <summary>"Type, Assembly", "Type, path/to/Assembly.dll", or "path/to/Assembly.dll" (its role named <paramref name="name"/>).</summary>
    private static Type Resolve(string name, string value, string? rolesDir, string key)
    {
        int comma = value.IndexOf(',');
        if (comma < 0)
        {
            if (!value.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
                throw new ConfigurationException($"{key}: '{value}' is neither \"Type, Assembly\" nor the path of a .dll");
            string path = Path.GetFullPath(value);
            if (!File.Exists(path)) throw new ConfigurationException($"{key}: no such file: {path}");
            var assembly = RoleAssemblies.LoadFile(path, key);
            var roles = assembly.GetExportedTypes().Where(t => typeof(INodeRole).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
                .Select(t => RoleAssemblies.Instantiate(t, key)).ToList();
            return roles.FirstOrDefault(r => r.Name == name)?.GetType()
                   ?? throw new ConfigurationException($"{key}: {path} has no role named '{name}' (its roles: {string.Join(", ", roles.Select(r => r.Name).DefaultIfEmpty("none"))})");
        }
        return RoleAssemblies.FindType(value[..comma].Trim(), value[(comma + 1)..].Trim(), rolesDir, key);
    }

    public RoleRegistry Add(string name, Func<INodeRole> create)
    {
        if (AgentRoles.Names.Contains(name)) throw new ConfigurationException($"paxos.roles.{name}: '{name}' is a built-in Paxos role");
        _roles[name] = (create, "registered in code");
        return this;
    }

    /// <summary>The names of every role known besides the built-in Paxos ones.</summary>
    public IReadOnlyCollection<string> Names => _roles.Keys;

    /// <summary>Creates the roles named in <paramref name="names"/> (Paxos roles skipped), in order.</summary>
    public IReadOnlyList<INodeRole> Create(IEnumerable<string> names)
    {
        var roles = new List<INodeRole>();
        foreach (string name in names)
        {
            if (AgentRoles.Names.Contains(name) || Routing.ClusterDirectory.IsAnnouncement(name)) continue;
            if (!_roles.TryGetValue(name, out var entry))
            {
                string dir = _rolesDir is null ? "paxos.roles-dir is not set" : $"paxos.roles-dir is {_rolesDir}";
                throw new ConfigurationException($"akka.cluster.roles: no role named '{name}' (known: {string.Join(", ", AgentRoles.Names.Concat(_roles.Keys))}); " +
                                                 $"map it in paxos.roles, put its assembly in the roles folder ({dir}), or register it in code");
            }
            var role = entry.Create();
            if (role.Name != name) throw new ConfigurationException($"paxos.roles.{name}: the class says its name is '{role.Name}'");
            roles.Add(role);
        }
        return roles;
    }
}
