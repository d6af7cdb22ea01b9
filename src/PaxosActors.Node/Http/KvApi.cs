using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PaxosActors.Diagnostics;
using PaxosActors.Hosting;
using PaxosActors.Kv;
using PaxosActors.Kv.Hosting;

namespace PaxosActors.Node.Http;

/// <summary>
/// The HTTP API of the key-value store. Any node accepts any request: its command goes into the
/// replicated log through this node's proposer (forwarded to the leader inside the cluster), and the
/// answer comes once this node's learner applied it. Errors are JSON: <c>{"error": "..."}</c>.
/// </summary>
public static class KvApi
{
    /// <param name="staleReads">Fault injection only (<see cref="FaultInjection.StaleReads"/>): answer GET from this node's
    /// own state, past the log. Not linearizable, on purpose: the chaos harness's control run must catch it.</param>
    /// <param name="redirectWrites"><c>paxos.http.redirect-writes</c>: a node that does not lead answers a write with 307 and
    /// the leader's address instead of forwarding it (<see cref="LeaderRedirect"/>).</param>
    public static void Map(WebApplication app, NodeRunner runner, bool staleReads = false, bool redirectWrites = false)
    {
        // The key is decoded from the raw request target, not from the route value: ASP.NET decodes "%25" but
        // leaves "%2F", so /kv/a%2Fb and /kv/a%252Fb would be one key, and invalid UTF-8 would pass as text.
        app.MapPut("/kv/{**key}", Handler(http => Write(runner, RequestKey.From(http, "/kv/"), http, redirectWrites)));
        app.MapGet("/kv/{**key}", Handler(http => Read(runner, RequestKey.From(http, "/kv/"), http, staleReads)));
        app.MapDelete("/kv/{**key}", Handler(http => Delete(runner, RequestKey.From(http, "/kv/"), http, redirectWrites)));
        app.MapPost("/cas/{**key}", Handler(http => CompareAndSet(runner, RequestKey.From(http, "/cas/"), http, redirectWrites)));
    }

    private static Delegate Handler(Func<HttpContext, Task<IResult>> handle) => handle;

    private static async Task<IResult> Write(NodeRunner runner, RequestKey key, HttpContext http, bool redirect)
    {
        if (HopTrace.Enabled)
        {
            HopTrace.Mark("http-entry");
            http.Response.OnCompleted(() =>
            {
                HopTrace.Mark("http-written");
                return Task.CompletedTask;
            });
        }
        if (RefuseWrite(runner, key, http, redirect, out var kv) is { } refused) return refused;
        string k = key.Value!;
        var (body, tooLarge) = await ReadBodyAsync(http, kv!.Settings.MaxValueBytes);
        if (tooLarge) return Error(413, $"the value is over the limit of {kv.Settings.MaxValueBytes} bytes");
        var answer = await Run(() => kv.PutAsync(k, body, http.RequestAborted), _ => Results.NoContent());
        if (HopTrace.Enabled) HopTrace.Mark("http-return");
        return answer;
    }

    private static async Task<IResult> Read(NodeRunner runner, RequestKey key, HttpContext http, bool staleReads)
    {
        if (!Ready(runner, out var kv, out var error) || !ValidKey(kv!, key, out error)) return error!;
        string k = key.Value!;
        // Linearizable by default (read index: the leader confirms it still leads, no log entry); "serializable" answers
        // from this node's state at once, possibly stale (etcd's --consistency=s).
        string? consistency = http.Request.Query["consistency"];
        bool? serializable = consistency switch
        {
            null or "" or "linearizable" or "l" => false,
            "serializable" or "s" => true,
            _ => null,
        };
        if (serializable is null) return Error(400, "consistency is linearizable (the default) or serializable");
        var read = staleReads || serializable == true
            ? () => Task.FromResult(kv!.ReadLocal(k))
            : (Func<Task<KvResult>>)(() => kv!.GetAsync(k, http.RequestAborted));
        return await Run(read, r => r.Value is { } v
            ? Results.Bytes(v.ToArray(), "application/octet-stream")
            : Error(404, "no such key"));
    }

    private static async Task<IResult> Delete(NodeRunner runner, RequestKey key, HttpContext http, bool redirect)
    {
        if (RefuseWrite(runner, key, http, redirect, out var kv) is { } refused) return refused;
        string k = key.Value!;
        return await Run(() => kv!.DeleteAsync(k, http.RequestAborted), _ => Results.NoContent());
    }

    private static async Task<IResult> CompareAndSet(NodeRunner runner, RequestKey key, HttpContext http, bool redirect)
    {
        if (RefuseWrite(runner, key, http, redirect, out var kv) is { } refused) return refused;
        string k = key.Value!;
        var (body, tooLarge) = await ReadBodyAsync(http, 2 * kv!.Settings.MaxValueBytes + 1024);
        if (tooLarge) return Error(413, "the request is over the size limit");
        CasRequest? cas;
        try
        {
            cas = JsonSerializer.Deserialize(body.Span, KvJson.Default.CasRequest);
        }
        catch (JsonException e)
        {
            return Error(400, $"malformed JSON: {e.Message}");
        }
        if (cas is null) return Error(400, "expected a JSON object {\"expected\": string|null, \"value\": string|null}");
        // Typed as ReadOnlyMemory<byte>? on purpose: a null byte[] converts to an empty, present
        // ReadOnlyMemory<byte>, which would turn "absent" into "the empty value".
        ReadOnlyMemory<byte>? expected = cas.Expected is null ? null : (ReadOnlyMemory<byte>?)Encoding.UTF8.GetBytes(cas.Expected);
        ReadOnlyMemory<byte>? value = cas.Value is null ? null : (ReadOnlyMemory<byte>?)Encoding.UTF8.GetBytes(cas.Value);
        if (value is { } v && v.Length > kv.Settings.MaxValueBytes)
            return Error(413, $"the value is over the limit of {kv.Settings.MaxValueBytes} bytes");
        return await Run(() => kv.CompareAndSetAsync(k, expected, value, http.RequestAborted), r =>
        {
            string? current = r.Value is { } v ? Encoding.UTF8.GetString(v.Span) : null;
            var answer = new CasResponse(r.Swapped, r.Swapped ? null : current);
            return Results.Json(answer, KvJson.Default.CasResponse, statusCode: r.Swapped ? 200 : 409);
        });
    }

    /// <summary>What a write gets instead of being taken here, or null: the node's refusal, the key's problem, or (with
    /// <paramref name="redirect"/>) a redirect to the leader (<see cref="LeaderRedirect"/>). Bad input is refused before any
    /// redirect.</summary>
    private static IResult? RefuseWrite(NodeRunner runner, RequestKey key, HttpContext http, bool redirect, out KvService? kv)
    {
        if (!Ready(runner, out kv, out var error) || !ValidKey(kv!, key, out error)) return error;
        return redirect ? LeaderRedirect(runner, http) : null;
    }

    /// <summary>A 307 to the same request at the leader, when another node leads as far as this node's proposer knows and
    /// that node announced its client URL; else null (the command is forwarded inside the cluster, as without the
    /// setting). The body is not read: the client sends it again, to the leader. The view can lag by a heartbeat: a client
    /// sent to a node that no longer leads is sent on from there (redirect-following clients bound their hops).</summary>
    private static IResult? LeaderRedirect(NodeRunner runner, HttpContext http)
    {
        var context = runner.Current?.Context;
        if (context?.Directory.Leader is not { } leader || leader == context.Settings.NodeId) return null;
        if (context.Directory.ClientUrl(leader) is not { } url) return null;
        string baseUrl = url.AbsoluteUri.TrimEnd('/');
        http.Response.Headers["X-Leader"] = baseUrl;
        return Results.Redirect(baseUrl + RequestKey.Target(http), permanent: false, preserveMethod: true);
    }

    private static async Task<IResult> Run(Func<Task<KvResult>> call, Func<KvResult, IResult> answer)
    {
        try
        {
            return answer(await call());
        }
        catch (KvUnavailableException e)
        {
            return Error(503, e.Message);
        }
        catch (OperationCanceledException)
        {
            return Error(499, "the client went away");
        }
    }

    /// <summary>Whether this node can take a command now. A node whose journal refuses writes (a full disk, typically)
    /// cannot take part in the log: every command through it would wait for its timeout, so it is refused at once, with
    /// the journal's own error.</summary>
    private static bool Ready(NodeRunner runner, out KvService? kv, out IResult? error)
    {
        var context = runner.Current?.Context;
        kv = context?.Service<KvService>();
        error = kv is null ? Error(503, "this node is starting, restarting or runs no key-value role")
            : context!.Health.Journal?.Failure is { } failure
                ? Error(503, $"refused: this node's journal refuses writes: {failure}. Nothing was written. The node takes " +
                             "commands again once a journal write succeeds (it retries every paxos.health.journal-probe-interval); " +
                             "until then, send requests to another node")
                : null;
        return error is null;
    }

    private static bool ValidKey(KvService kv, RequestKey key, out IResult? error)
    {
        error = null;
        if (key.Problem is { } problem) error = Error(400, problem);
        else if (string.IsNullOrEmpty(key.Value)) error = Error(400, "the key is empty");
        else if (Encoding.UTF8.GetByteCount(key.Value) > kv.Settings.MaxKeyBytes)
            error = Error(400, $"the key is over the limit of {kv.Settings.MaxKeyBytes} bytes");
        return error is null;
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; more is reported, not read to the end.</summary>
    private static async Task<(ReadOnlyMemory<byte> Body, bool TooLarge)> ReadBodyAsync(HttpContext http, int limit)
    {
        if (http.Request.ContentLength > limit) return (default, true);
        var buffer = new ArrayBufferWriter<byte>(Math.Min(limit + 1, (int)(http.Request.ContentLength ?? 4096) + 1));
        var stream = http.Request.Body;
        while (true)
        {
            var memory = buffer.GetMemory(Math.Min(16 * 1024, limit + 1 - buffer.WrittenCount));
            int n = await stream.ReadAsync(memory, http.RequestAborted);
            if (n == 0) return (buffer.WrittenMemory, false);
            buffer.Advance(n);
            if (buffer.WrittenCount > limit) return (default, true);
        }
    }

    public static IResult Error(int status, string message) =>
        Results.Json(new ErrorResponse(message), KvJson.Default.ErrorResponse, statusCode: status);
}

/// <summary>Body of <c>POST /cas/{key}</c>: swap in <c>value</c> (null: delete) if the key holds <c>expected</c> (null: absent).</summary>
public sealed record CasRequest(
    [property: JsonPropertyName("expected")] string? Expected,
    [property: JsonPropertyName("value")] string? Value);

/// <summary>Answer of <c>POST /cas/{key}</c>; <c>current</c> is what a failed swap found.</summary>
public sealed record CasResponse(
    [property: JsonPropertyName("swapped")] bool Swapped,
    [property: JsonPropertyName("current")] string? Current);

/// <summary>Every error the API answers with.</summary>
public sealed record ErrorResponse([property: JsonPropertyName("error")] string Error);

[JsonSerializable(typeof(CasRequest))]
[JsonSerializable(typeof(CasResponse))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(StatusResponse))]
[JsonSerializable(typeof(AdminResponse))]
[JsonSerializable(typeof(MembersResponse))]
[JsonSerializable(typeof(List<PaxosActors.Security.CertificateExpiry>))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
internal sealed partial class KvJson : JsonSerializerContext;
