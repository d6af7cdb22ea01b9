using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace PaxosActors.Tools.Chaos;

/// <summary>The outcome of one HTTP call, in history terms: ok (with what it returned), fail (certainly
/// not applied) or info (unknown).</summary>
public readonly record struct Outcome(string Type, object? Value, string? Error)
{
    public static Outcome Okay(object? value) => new("ok", value, null);
    public static Outcome Fail(string error) => new("fail", null, error);
    public static Outcome Unknown(string error) => new("info", null, error);
}

/// <summary>The key-value HTTP API as the chaos clients call it, mapped to history outcomes.</summary>
public sealed class KvClient(HttpClient http)
{
    public async Task<Outcome> ReadAsync(string node, string key, CancellationToken ct)
    {
        try
        {
            using var resp = await http.GetAsync($"{node}/kv/{key}", ct);
            if (resp.StatusCode == HttpStatusCode.OK) return Outcome.Okay(await resp.Content.ReadAsStringAsync(ct));
            if (resp.StatusCode == HttpStatusCode.NotFound) return Outcome.Okay(null);
            // A read changes nothing: any failure can be left out of the history.
            return Outcome.Fail($"{(int)resp.StatusCode} {await ErrorText(resp, ct)}");
        }
        catch (Exception e) when (IsNetworkFailure(e))
        {
            return Outcome.Fail(Describe(e));
        }
    }

    public async Task<Outcome> WriteAsync(string node, string key, string value, CancellationToken ct)
    {
        try
        {
            using var content = new StringContent(value, Encoding.UTF8, "application/octet-stream");
            using var resp = await http.PutAsync($"{node}/kv/{key}", content, ct);
            if (resp.StatusCode == HttpStatusCode.NoContent) return Outcome.Okay(value);
            return await Refused(resp, ct);
        }
        catch (Exception e) when (IsNetworkFailure(e))
        {
            return Unsent(e) ? Outcome.Fail(Describe(e)) : Outcome.Unknown(Describe(e));
        }
    }

    public async Task<Outcome> CasAsync(string node, string key, string? expected, string value, CancellationToken ct)
    {
        try
        {
            string body = JsonSerializer.Serialize(new Dictionary<string, string?> { ["expected"] = expected, ["value"] = value });
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var resp = await http.PostAsync($"{node}/cas/{key}", content, ct);
            if (resp.StatusCode == HttpStatusCode.OK) return Outcome.Okay(true);
            if (resp.StatusCode == HttpStatusCode.Conflict) return Outcome.Okay(false);
            return await Refused(resp, ct);
        }
        catch (Exception e) when (IsNetworkFailure(e))
        {
            return Unsent(e) ? Outcome.Fail(Describe(e)) : Outcome.Unknown(Describe(e));
        }
    }

    /// <summary>What <c>GET /status</c> says, or null if the node does not answer in time.</summary>
    public async Task<NodeStatus?> StatusAsync(string node, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var resp = await http.GetAsync($"{node}/status", cts.Token);
            if (!resp.IsSuccessStatusCode) return null;
            using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync(cts.Token));
            var r = doc.RootElement;
            return new NodeStatus(Long(r, "leader") is { } l ? (int)l : null, Long(r, "applied_slot"), Long(r, "keys"),
                Long(r, "kv_applied_slot"), r.TryGetProperty("kv_digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null,
                r.TryGetProperty("acceptors", out var a) && a.ValueKind == JsonValueKind.Array
                    ? a.EnumerateArray().Select(e => e.GetInt32()).Order().ToList()
                    : null);
        }
        catch (Exception e) when (IsNetworkFailure(e) || e is JsonException)
        {
            return null;
        }
    }

    /// <summary>POSTs a fault-injection admin command; null once the node answers that its transport applied it, else what
    /// went wrong (an error status, <c>applied: false</c>, no answer within 10 s: above the node's own 5 s for the command).</summary>
    public async Task<string?> AdminAsync(string node, string pathAndQuery, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        try
        {
            using var resp = await http.PostAsync($"{node}{pathAndQuery}", null, cts.Token);
            if (!resp.IsSuccessStatusCode) return $"{(int)resp.StatusCode} {await ErrorText(resp, ct)}";
            var answer = await resp.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
            return answer.TryGetProperty("applied", out var a) && a.ValueKind == JsonValueKind.True ? null : $"applied: false ({answer})";
        }
        catch (Exception e) when (IsNetworkFailure(e) || e is JsonException)
        {
            ct.ThrowIfCancellationRequested();
            return Describe(e);
        }
    }

    private static long? Long(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    /// <summary>An error answer to a write: a 4xx or "not ready yet" was refused before anything was
    /// proposed; anything else (a 503 after proposing, a 500) may still take effect.</summary>
    private static async Task<Outcome> Refused(HttpResponseMessage resp, CancellationToken ct)
    {
        string text = await ErrorText(resp, ct);
        int code = (int)resp.StatusCode;
        bool certain = code is >= 400 and < 500 and not 408 and not 499 || (code == 503 && text.Contains("is starting"));
        return certain ? Outcome.Fail($"{code} {text}") : Outcome.Unknown($"{code} {text}");
    }

    private static async Task<string> ErrorText(HttpResponseMessage resp, CancellationToken ct)
    {
        try
        {
            string s = await resp.Content.ReadAsStringAsync(ct);
            return s.Length > 200 ? s[..200] : s;
        }
        catch (Exception e) when (IsNetworkFailure(e))
        {
            return "";
        }
    }

    /// <summary>What a call to a node that is dying, paused or cut off throws. A bare <see cref="SocketException"/> among
    /// them: HttpClient lets one out of its connection setup when the peer resets the socket at that moment (seen in a
    /// chaos run: "Transport endpoint is not connected" from <c>Socket.RemoteEndPoint</c>, which ended the session).</summary>
    internal static bool IsNetworkFailure(Exception e) =>
        e is HttpRequestException or TaskCanceledException or IOException or SocketException;

    /// <summary>Connection refused: the request never left, so it certainly did not happen.</summary>
    private static bool Unsent(Exception e) =>
        e is HttpRequestException { InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused } };

    private static string Describe(Exception e) => e switch
    {
        TaskCanceledException => "timeout",
        HttpRequestException { InnerException: SocketException s } => s.SocketErrorCode.ToString(),
        _ => e.GetType().Name + ": " + e.Message,
    };
}

/// <summary>The parts of <c>GET /status</c> the harness uses: <paramref name="KvDigest"/> digests every key and value of
/// the store as of <paramref name="KvAppliedSlot"/> (which, at rest, is the learner's <paramref name="AppliedSlot"/>);
/// <paramref name="Acceptors"/> is the acceptor set in force at the applied slot, ascending.</summary>
public sealed record NodeStatus(int? Leader, long? AppliedSlot, long? Keys, long? KvAppliedSlot = null, string? KvDigest = null,
    IReadOnlyList<int>? Acceptors = null);
