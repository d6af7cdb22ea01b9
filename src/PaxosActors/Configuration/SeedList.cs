using Akka.Configuration;

namespace PaxosActors.Configuration;

/// <summary>
/// <c>paxos.seeds</c>: the cluster's seed nodes as <c>host:port,host:port</c> (remoting endpoints, as an
/// operator writes them in an environment variable), turned into Akka addresses such as
/// <c>akka.tcp://paxos@host:port</c>. An entry that already is an address (has a <c>://</c>) is kept as it is.
/// </summary>
public static class SeedList
{
    /// <summary>The addresses of <paramref name="seeds"/> for ActorSystem <paramref name="systemName"/>; empty when
    /// <paramref name="seeds"/> is blank.</summary>
    /// <exception cref="ConfigurationException">An entry is neither an address nor <c>host:port</c>.</exception>
    public static IReadOnlyList<string> Parse(string? seeds, string systemName, string protocol = "akka.tcp")
    {
        if (string.IsNullOrWhiteSpace(seeds)) return [];
        var addresses = new List<string>();
        foreach (string entry in seeds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.Contains("://", StringComparison.Ordinal))
            {
                addresses.Add(entry);
                continue;
            }
            int colon = entry.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(entry.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
                throw new ConfigurationException($"paxos.seeds: '{entry}' is not host:port (in '{seeds}')");
            addresses.Add($"{protocol}://{systemName}@{entry}");
        }
        return addresses;
    }
}
