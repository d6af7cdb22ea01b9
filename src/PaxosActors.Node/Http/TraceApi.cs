using System.Net;
using PaxosActors.Diagnostics;

namespace PaxosActors.Node.Http;

/// <summary><c>GET /debug/trace</c>: the hops <see cref="HopTrace"/> recorded, as text (<see cref="HopTrace.Dump"/>);
/// <c>?clear=true</c> forgets them after the dump. Mapped only while <c>paxos.diagnostics.trace-hops</c> is on, and it
/// answers loopback clients only (404 to others, as if it did not exist); the API's tokens apply as to every endpoint.</summary>
public static class TraceApi
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/debug/trace", (HttpContext http, bool? clear) =>
        {
            var remote = http.Connection.RemoteIpAddress;
            if (remote is { IsIPv4MappedToIPv6: true }) remote = remote.MapToIPv4();
            if (remote is null || !IPAddress.IsLoopback(remote))
                return KvApi.Error(404, $"no such endpoint: {http.Request.Method} {http.Request.Path}");
            string dump = HopTrace.Dump();
            if (clear == true) HopTrace.Clear();
            return Results.Text(dump, "text/plain");
        });
    }
}
