using System.Reflection;
using Akka.Configuration;

namespace PaxosActors.Configuration;

/// <summary>Default HOCON shipped inside an assembly as an embedded resource (Akka's reference.conf convention):
/// each assembly brings the defaults of what it defines, and callers use them as a fallback.</summary>
public static class EmbeddedConfig
{
    /// <summary>Parses the resource <paramref name="resourceName"/> of <paramref name="assembly"/>.</summary>
    public static Config Load(Assembly assembly, string resourceName)
    {
        using var stream = assembly.GetManifestResourceStream(resourceName)
                           ?? throw new InvalidOperationException($"{resourceName} is not embedded in {assembly.GetName().Name}");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>Every embedded resource of <paramref name="assembly"/> named <c>reference.conf</c> or <c>*.reference.conf</c>
    /// (MSBuild names <c>&lt;EmbeddedResource Include="reference.conf" /&gt;</c> <c>RootNamespace.reference.conf</c>), merged in
    /// name order; empty if there is none.</summary>
    /// <exception cref="ConfigurationException">One does not parse.</exception>
    public static Config ReferenceOf(Assembly assembly)
    {
        var config = Config.Empty;
        foreach (string name in assembly.GetManifestResourceNames().Where(IsReference).Order(StringComparer.Ordinal))
        {
            try
            {
                config = config.WithFallback(Load(assembly, name));
            }
            catch (Exception e) when (e is not ConfigurationException)
            {
                throw new ConfigurationException($"the embedded {name} of {assembly.GetName().Name} does not parse: {e.Message}");
            }
        }
        return config;
    }

    private static bool IsReference(string name) =>
        name == "reference.conf" || name.EndsWith(".reference.conf", StringComparison.Ordinal);
}
