using System.Collections.Concurrent;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using Akka.Configuration;

namespace PaxosActors.Hosting;

/// <summary>A role class found in a role assembly, with the name its instances give.</summary>
public sealed record RoleType(string Name, Type Type, string Source)
{
    public INodeRole Create() => RoleAssemblies.Instantiate(Type, Source);
}

/// <summary>
/// Loads role assemblies (plugins) that are not part of the program: a folder of them (<c>paxos.roles-dir</c>) or one
/// named by its path (<c>paxos.roles.NAME = "Type, path/to/Role.dll"</c>). Each loads in an
/// <see cref="AssemblyLoadContext"/> of its own that resolves the role's private dependencies from its
/// <c>.deps.json</c> (or its folder); an assembly the program itself has (PaxosActors, Akka, ...) is always the
/// program's, so the role's <see cref="INodeRole"/> is the node's. A role that cannot be loaded fails with the reason:
/// the file, the missing dependency, the missing constructor, whatever the runtime said.
/// </summary>
public static class RoleAssemblies
{
    // One context per file for the whole process: an ActorSystem restart must see the same types, and a context that is
    // not collectible cannot be unloaded anyway.
    private static readonly ConcurrentDictionary<string, Assembly> Loaded = new(StringComparer.Ordinal);

    /// <summary>The simple names of the program's own assemblies (the trusted platform assemblies: the framework and
    /// everything in the program's deps.json).</summary>
    private static readonly Lazy<HashSet<string>> ProgramAssemblies = new(() =>
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string tpa)
            foreach (string path in tpa.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
                names.Add(Path.GetFileNameWithoutExtension(path));
        foreach (var a in AssemblyLoadContext.Default.Assemblies)
            if (a.GetName().Name is { } n) names.Add(n);
        return names;
    });

    /// <summary>Whether the program itself has an assembly of this simple name (then a plugin gets the program's).</summary>
    public static bool IsProgramAssembly(string simpleName) => ProgramAssemblies.Value.Contains(simpleName);

    /// <summary>
    /// Every public, concrete <see cref="INodeRole"/> with a public parameterless constructor in the role assemblies of
    /// <paramref name="dir"/> and its subfolders one level down: the .dll files that reference PaxosActors and are not
    /// the program's own (so a role's build output, with copies of PaxosActors.dll and Akka beside it, works as is).
    /// </summary>
    /// <exception cref="ConfigurationException">The folder does not exist, or a role assembly in it cannot be loaded, or a
    /// role in it cannot be created; the message names <paramref name="key"/>, the file and the reason.</exception>
    public static IReadOnlyList<RoleType> Scan(string dir, string key = "paxos.roles-dir")
    {
        string full = Path.GetFullPath(dir);
        if (!Directory.Exists(full)) throw new ConfigurationException($"{key}: no such folder: {full}");
        var files = Directory.EnumerateFiles(full, "*.dll")
            .Concat(Directory.EnumerateDirectories(full).SelectMany(d => Directory.EnumerateFiles(d, "*.dll")))
            .Where(f => !f.EndsWith(".resources.dll", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal);
        var found = new List<RoleType>();
        foreach (string file in files)
        {
            if (!IsRoleAssembly(file)) continue;
            var assembly = LoadFile(file, key);
            foreach (var type in ExportedTypes(assembly, file, key))
            {
                if (!typeof(INodeRole).IsAssignableFrom(type) || type.IsAbstract || type.IsInterface) continue;
                string source = $"{key} ({file})";
                var role = Instantiate(type, source);
                if (found.FirstOrDefault(r => r.Name == role.Name) is { } twice)
                    throw new ConfigurationException($"{key}: two roles are named '{role.Name}': {twice.Type.FullName} ({twice.Source}) and {type.FullName} ({file})");
                found.Add(new RoleType(role.Name, type, source));
            }
        }
        return found;
    }

    /// <summary>The role type <paramref name="typeName"/> in <paramref name="assemblyName"/>: an assembly of the program, one in
    /// <paramref name="rolesDir"/>, or (a name ending in .dll, or a path) that file.</summary>
    /// <exception cref="ConfigurationException">It cannot be loaded or is not a role; the message names <paramref name="key"/> and why.</exception>
    public static Type FindType(string typeName, string assemblyName, string? rolesDir, string key)
    {
        string what = $"{key}: cannot load type '{typeName}, {assemblyName}'";
        Assembly assembly;
        if (LooksLikePath(assemblyName))
        {
            string path = Path.GetFullPath(assemblyName);
            if (!File.Exists(path)) throw new ConfigurationException($"{what}: no such file: {path}");
            assembly = LoadFile(path, key);
        }
        else if (InDirectory(assemblyName, rolesDir) is { } file)
        {
            assembly = LoadFile(file, key);
        }
        else
        {
            try
            {
                assembly = AssemblyLoadContext.Default.LoadFromAssemblyName(new AssemblyName(assemblyName));
            }
            catch (FileNotFoundException)
            {
                string dir = rolesDir is null ? "paxos.roles-dir is not set" : $"it is not in paxos.roles-dir ({Path.GetFullPath(rolesDir)})";
                throw new ConfigurationException($"{what}: the assembly '{assemblyName}' is not part of this program and {dir}. " +
                                                 $"Put its build output in the roles folder (--roles-dir), or name its file: \"{typeName}, path/to/{assemblyName}.dll\"");
            }
            catch (Exception e) when (e is FileLoadException or BadImageFormatException or ArgumentException)
            {
                throw new ConfigurationException($"{what}: {e.Message}");
            }
        }
        Type? type;
        try
        {
            type = assembly.GetType(typeName, throwOnError: false);
        }
        catch (Exception e) when (e is TypeLoadException or FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ConfigurationException($"{what}: {Reason(e)}");
        }
        if (type is null)
        {
            var roles = ExportedTypes(assembly, assembly.Location, key).Where(t => typeof(INodeRole).IsAssignableFrom(t)).Select(t => t.FullName);
            throw new ConfigurationException($"{what}: {assembly.GetName().Name} has no type {typeName} (its roles: {string.Join(", ", roles.DefaultIfEmpty("none"))})");
        }
        if (!typeof(INodeRole).IsAssignableFrom(type))
        {
            string other = type.GetInterfaces().FirstOrDefault(i => i.FullName == typeof(INodeRole).FullName) is { } copy
                ? $": it implements an INodeRole from another copy of PaxosActors ({copy.Assembly.Location}), not the node's ({typeof(INodeRole).Assembly.Location})"
                : "";
            throw new ConfigurationException($"{key}: {type.FullName} does not implement INodeRole{other}");
        }
        return type;
    }

    /// <summary>A role object of <paramref name="type"/>, through its public parameterless constructor.</summary>
    /// <exception cref="ConfigurationException">It is abstract, has no such constructor, or the constructor threw.</exception>
    public static INodeRole Instantiate(Type type, string source)
    {
        if (type.IsAbstract || type.IsInterface) throw new ConfigurationException($"{source}: {type.FullName} is abstract");
        if (type.GetConstructor(Type.EmptyTypes) is null)
            throw new ConfigurationException($"{source}: {type.FullName} has no public parameterless constructor, which a role loaded by name needs");
        try
        {
            return (INodeRole)Activator.CreateInstance(type)!;
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw new ConfigurationException($"{source}: the constructor of {type.FullName} threw {e.InnerException.GetType().Name}: {Reason(e.InnerException)}");
        }
        catch (Exception e) when (e is MissingMethodException or TypeLoadException or FileNotFoundException or FileLoadException or MemberAccessException)
        {
            throw new ConfigurationException($"{source}: cannot create {type.FullName}: {Reason(e)}");
        }
    }

    /// <summary>Loads <paramref name="path"/> in its own context (once per process).</summary>
    /// <exception cref="ConfigurationException">It cannot be loaded, with the runtime's reason.</exception>
    public static Assembly LoadFile(string path, string key)
    {
        string full = Path.GetFullPath(path);
        if (Loaded.TryGetValue(full, out var loaded)) return loaded;
        try
        {
            var name = AssemblyName.GetAssemblyName(full);
            if (name.Name is { } simple && IsProgramAssembly(simple))
                return Loaded.GetOrAdd(full, _ => AssemblyLoadContext.Default.LoadFromAssemblyName(name));
            return Loaded.GetOrAdd(full, f => new RoleLoadContext(f).LoadFromAssemblyPath(f));
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"{key}: cannot load {full}: {Reason(e)}");
        }
    }

    private static IEnumerable<Type> ExportedTypes(Assembly assembly, string file, string key)
    {
        try
        {
            return assembly.GetExportedTypes();
        }
        catch (ReflectionTypeLoadException e)
        {
            var reasons = e.LoaderExceptions.Where(x => x is not null).Select(x => Reason(x!)).Distinct().Take(3);
            throw new ConfigurationException($"{key}: cannot load the types of {file}: {string.Join("; ", reasons)}");
        }
        catch (Exception e) when (e is TypeLoadException or FileNotFoundException or FileLoadException or BadImageFormatException)
        {
            throw new ConfigurationException($"{key}: cannot load the types of {file}: {Reason(e)}");
        }
    }

    /// <summary>A managed assembly that references PaxosActors and is not one of the program's own.</summary>
    private static bool IsRoleAssembly(string file)
    {
        try
        {
            using var stream = File.OpenRead(file);
            using var pe = new PEReader(stream);
            if (!pe.HasMetadata) return false;
            var metadata = pe.GetMetadataReader();
            if (!metadata.IsAssembly) return false;
            string name = metadata.GetString(metadata.GetAssemblyDefinition().Name);
            if (IsProgramAssembly(name)) return false;
            return metadata.AssemblyReferences.Any(h => metadata.GetString(metadata.GetAssemblyReference(h).Name) == typeof(INodeRole).Assembly.GetName().Name);
        }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException)
        {
            return false; // a native library, or not an assembly
        }
    }

    private static string? InDirectory(string assemblyName, string? dir)
    {
        if (dir is null || !Directory.Exists(dir)) return null;
        string file = new AssemblyName(assemblyName).Name + ".dll";
        return Directory.EnumerateFiles(dir, file).Concat(Directory.EnumerateDirectories(dir).SelectMany(d => Directory.EnumerateFiles(d, file)))
            .FirstOrDefault();
    }

    private static bool LooksLikePath(string assemblyName) =>
        assemblyName.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || assemblyName.Contains('/') || assemblyName.Contains('\\');

    /// <summary>The runtime's reason, with a missing dependency named.</summary>
    private static string Reason(Exception e) => OneLine(e switch
    {
        FileNotFoundException f when f.FileName is { } missing => $"a dependency cannot be found: {missing} ({f.Message})",
        FileLoadException f when f.FileName is { } bad => $"a dependency cannot be loaded: {bad} ({f.Message})",
        _ => e.Message,
    });

    private static string OneLine(string text) => string.Join(' ', text.Split((char[])['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        .Replace(" )", ")", StringComparison.Ordinal);

    /// <summary>The context of one role assembly: its private dependencies from its deps.json or folder, the program's
    /// own assemblies from the program.</summary>
    private sealed class RoleLoadContext : AssemblyLoadContext
    {
        private readonly AssemblyDependencyResolver? _resolver;
        private readonly string _dir;

        public RoleLoadContext(string path) : base($"role {Path.GetFileName(path)}")
        {
            _dir = Path.GetDirectoryName(path)!;
            try
            {
                _resolver = new AssemblyDependencyResolver(path);
            }
            catch (InvalidOperationException)
            {
                _resolver = null; // no host policy to read deps.json with: probe the folder
            }
        }

        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name is null || IsProgramAssembly(name.Name)) return null; // the program's: shared
            string? path = _resolver?.ResolveAssemblyToPath(name);
            if (path is null && File.Exists(Path.Combine(_dir, name.Name + ".dll"))) path = Path.Combine(_dir, name.Name + ".dll");
            return path is null ? null : LoadFromAssemblyPath(path);
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName) =>
            _resolver?.ResolveUnmanagedDllToPath(unmanagedDllName) is { } path ? LoadUnmanagedDllFromPath(path) : IntPtr.Zero;
    }
}
