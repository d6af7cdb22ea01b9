using System.Net;
using System.Net.Sockets;

namespace PaxosActors.Cluster.Tests.Support;

/// <summary>Ports nobody listens on, found by binding port 0; never the local cluster's 8081-8083 or 4051-4053.</summary>
public static class FreePorts
{
    private static readonly HashSet<int> Reserved = [8081, 8082, 8083, 4051, 4052, 4053];
    private static readonly HashSet<int> Handed = [];

    public static int[] Take(int count)
    {
        var ports = new List<int>();
        lock (Handed)
        {
            while (ports.Count < count)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                int port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                // A port handed out earlier in this run may be free again but still belong to a test's node.
                if (Reserved.Contains(port) || !Handed.Add(port)) continue;
                ports.Add(port);
            }
        }
        return [.. ports];
    }
}
