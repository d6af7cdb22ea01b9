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
}
