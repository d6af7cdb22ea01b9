using System.Text.RegularExpressions;

namespace PaxosActors.Configuration;

/// <summary>
/// Resolves <c>${?VAR}</c> environment overrides in HOCON text before it is parsed. The HOCON convention is
/// <c>port = 4051</c> then <c>port = ${?PAXOS_REMOTE_PORT}</c>: the variable wins when set, the earlier value
/// stays when not. Akka.NET's parser gets the second case wrong (the key becomes null), so an assignment whose
/// only content is an unset <c>${?VAR}</c> is dropped here, and a set one is replaced by its value as a string.
/// </summary>
public static partial class HoconEnvironment
{
    public static string Resolve(string hocon, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return Assignment().Replace(hocon, m =>
        {
            string? value = environment(m.Groups["var"].Value);
            return value is null ? "" : $"{m.Groups["key"].Value}{m.Groups["sep"].Value}{HoconString.Quote(value)}";
        });
    }

    [GeneratedRegex(@"^(?<key>[ \t]*[A-Za-z0-9_.""-]+)(?<sep>[ \t]*[=:][ \t]*)\$\{\?(?<var>[A-Za-z_][A-Za-z0-9_]*)\}[ \t]*$",
        RegexOptions.Multiline)]
    private static partial Regex Assignment();
}
