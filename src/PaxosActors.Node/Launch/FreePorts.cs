using System.Net;
using System.Net.Sockets;

namespace PaxosActors.Node.Launch;

/// <summary>
/// Loopback ports nobody listens on, found by binding port 0, for clusters started on the fly (chaos, bench,
/// tests). Never a port of the <c>local</c> cluster's default ranges (HTTP 8081.., remoting 4051..), so they cannot
/// collide with a developer's running cluster, and never the same port twice in one process: a port handed out
/// earlier may be free again for a moment while it still belongs to a node being restarted.
/// </summary>
public static class FreePorts
{
    /// <summary>The ports <c>local</c> uses by default, for as many nodes as it starts (up to 9).</summary>
    public static readonly IReadOnlySet<int> LocalClusterPorts =
        Enumerable.Range(8081, 9).Concat(Enumerable.Range(4051, 9)).ToHashSet();

    private static readonly HashSet<int> Handed = [];

    /// <summary><paramref name="count"/> distinct free ports, none handed out before in this process.</summary>
    public static int[] Take(int count)
    {
        var ports = new List<int>(count);
        lock (Handed)
        {
            while (ports.Count < count)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (LocalClusterPorts.Contains(port) || !Handed.Add(port)) continue;
                ports.Add(port);
            }
        }
        return [.. ports];
    }

    /// <summary>One free port; see <see cref="Take(int)"/>.</summary>
    public static int Take() => Take(1)[0];
}
