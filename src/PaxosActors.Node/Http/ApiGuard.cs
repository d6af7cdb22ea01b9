using System.Collections.Concurrent;
using System.Net;

namespace PaxosActors.Node.Http;

/// <summary>
/// What every request passes before it reaches an endpoint: a bound on the requests one client address has in progress
/// (429 beyond it), then, with <c>paxos.http.auth</c> on, a bearer token whose scope covers the request (401 without a
/// known token, 403 with one whose scope is too small). <c>/health/*</c> is open. A refused request changes nothing:
/// it never reaches its endpoint. Every refusal is JSON <c>{"error": "..."}</c>.
/// </summary>
public sealed class ApiGuard(ApiTokens? tokens, int maxRequestsPerClient)
{
    private readonly ConcurrentDictionary<IPAddress, int> _inProgress = new();

    /// <summary>The scope a request needs: none for <c>/health/*</c>, admin for <c>/admin/*</c>, read for GET and HEAD,
    /// write for everything else.</summary>
    public static ApiScope? Needs(string method, PathString path)
    {
        if (path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase)) return null;
        if (path.StartsWithSegments("/admin", StringComparison.OrdinalIgnoreCase)) return ApiScope.Admin;
        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? ApiScope.Read : ApiScope.Write;
    }

    public async Task InvokeAsync(HttpContext http, RequestDelegate next)
    {
        var client = http.Connection.RemoteIpAddress ?? IPAddress.None;
        int now = _inProgress.AddOrUpdate(client, 1, (_, n) => n + 1);
        try
        {
            if (now > maxRequestsPerClient)
            {
                await Refuse(http, 429, $"too many requests in progress from {client} (paxos.http.limits.max-requests-per-client = {maxRequestsPerClient})");
                return;
            }
            if (tokens is not null && Needs(http.Request.Method, http.Request.Path) is { } needed)
            {
                string? token = Bearer(http.Request.Headers.Authorization.ToString());
                var scope = token is null ? null : tokens.ScopeOf(token);
                if (scope is null)
                {
                    http.Response.Headers.WWWAuthenticate = "Bearer realm=\"paxos\"";
                    await Refuse(http, 401, token is null ? "authentication required: send the header Authorization: Bearer TOKEN" : "unknown token");
                    return;
                }
                if (scope < needed)
                {
                    await Refuse(http, 403, $"this token's scope is {Name(scope.Value)}; {http.Request.Method} {http.Request.Path} needs {Name(needed)}");
                    return;
                }
            }
            await next(http);
        }
        finally
        {
            if (_inProgress.AddOrUpdate(client, 0, (_, n) => n - 1) <= 0) _inProgress.TryRemove(new KeyValuePair<IPAddress, int>(client, 0));
        }
    }

    private static string Name(ApiScope scope) => scope.ToString().ToLowerInvariant();

    private static string? Bearer(string header)
    {
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length ? header[prefix.Length..].Trim() : null;
    }

    private static Task Refuse(HttpContext http, int status, string message) => KvApi.Error(status, message).ExecuteAsync(http);
}
