using System.Net;
using System.Net.Sockets;

namespace PaxosActors.Node.Launch;

/// <summary>Whether a node could listen on a port: checked before a node process starts, so that a port another
/// process holds (typically a cluster still running) is reported at once, by number, instead of as a node that
/// dies on start or, worse, as the other process answering in its place.</summary>
public static class PortCheck
{
    /// <summary>True when something listens on <paramref name="port"/> of <paramref name="address"/>, or holds it
    /// bound. Connections lingering in TIME_WAIT do not count: Kestrel and Akka's transport bind over them.</summary>
    public static bool IsInUse(IPAddress address, int port)
    {
        if (Accepts(address, port)) return true;
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        try
        {
            socket.Bind(new IPEndPoint(address, port));
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    private static bool Accepts(IPAddress address, int port)
    {
        using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // Refused at once on loopback when nobody listens; the bound is for an address that drops packets.
            return socket.ConnectAsync(new IPEndPoint(address, port)).Wait(TimeSpan.FromSeconds(1)) && socket.Connected;
        }
        catch (AggregateException e) when (e.InnerException is SocketException)
        {
            return false;
        }
    }
}

/// <summary>A node cannot start: a port it needs is taken.</summary>
public sealed class PortInUseException(int port, string what, string host)
    : Exception($"port {port} ({what}) is already in use on {host}: another cluster (a `local` still running?) or another " +
                $"program holds it. Stop it, or choose other ports (local: --http-port P --remote-port P).")
{
    public int Port { get; } = port;
}
