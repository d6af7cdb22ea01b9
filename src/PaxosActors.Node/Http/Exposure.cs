using System.Net;
using Akka.Configuration;

namespace PaxosActors.Node.Http;

/// <summary>Secure by default off loopback: a node that listens (HTTP or remoting) anywhere but loopback must run with
/// TLS and authentication.</summary>
public static class Exposure
{
    /// <summary>Why this configuration exposes the node without protection, or null if it does not.</summary>
    public static string? Check(Config config, bool tls, bool auth)
    {
        var exposed = new[]
            {
                ("paxos.http.host", config.GetString("paxos.http.host", "")),
                ("akka.remote.dot-netty.tcp.hostname", config.GetString("akka.remote.dot-netty.tcp.hostname", "")),
                ("akka.remote.dot-netty.tcp.bind-hostname", config.GetString("akka.remote.dot-netty.tcp.bind-hostname", "")),
            }
            .Where(h => h.Item2.Length > 0 || h.Item1 != "akka.remote.dot-netty.tcp.bind-hostname")
            .Where(h => !IsLoopback(h.Item2))
            .Select(h => $"{h.Item1} = {(h.Item2.Length == 0 ? "(all addresses)" : h.Item2)}")
            .ToList();
        if (exposed.Count == 0 || (tls && auth)) return null;
        var missing = new[] { tls ? null : "TLS (paxos.tls.enabled)", auth ? null : "authentication (paxos.http.auth.enabled)" }.OfType<string>();
        return $"this node listens beyond loopback ({string.Join(", ", exposed)}) without {string.Join(" and ", missing)}";
    }

    public static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
