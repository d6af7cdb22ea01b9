using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace PaxosActors.Node.Tests;

/// <summary>A node the HTTP fuzz drives: how to reach it (plain, or TLS trusting the test CA) and, with authentication on,
/// its tokens.</summary>
public sealed record FuzzedNode(TestNode Node, RawHttpTarget Target, FuzzTokens? Tokens = null);

/// <summary>A token of each scope the node knows.</summary>
public sealed record FuzzTokens(string Admin, string Write, string Read);

/// <summary>The HTTP fuzz against one plain node (no TLS, no tokens).</summary>
public sealed class HttpFuzzTests(SingleNodeFixture fixture, ITestOutputHelper output) : HttpFuzz(output), IClassFixture<SingleNodeFixture>
{
    protected override FuzzedNode Fuzzed => new(fixture.Node, fixture.Node.HttpPort);

    /// <summary>The same on a node whose request timeout is shorter than a commit: many writes answer 503 and are applied
    /// anyway, a moment later, or not at all. Each keeps being checked: its key holds one of the values it may hold.</summary>
    [Fact]
    public async Task Writes_whose_outcome_is_unknown_leave_their_keys_holding_one_of_the_values_they_may_hold()
    {
        using var node = TestNode.Start(configText: "paxos.kv.request-timeout = 4ms\npaxos.kv.retry-interval = 2ms\n");
        await node.WaitForStatusAsync(TimeSpan.FromSeconds(60));
        var model = await FuzzAsync(new FuzzedNode(node, node.HttpPort), Seed(), Count(2000) / 2);
        Assert.True(model.PendingCount > 0, "no write had an unknown outcome: this test checked nothing it was written for");
    }
}

/// <summary>The HTTP fuzz against a node with HTTPS and bearer tokens (<see cref="SecureNodeFixture"/>): the same requests
/// over TLS, most with the admin or the write token, and some with none, a wrong one, or the read-only one on a write,
/// which the model expects refused (401, 403) with nothing changed.</summary>
public sealed class SecureHttpFuzzTests(SecureNodeFixture fixture, ITestOutputHelper output) : HttpFuzz(output), IClassFixture<SecureNodeFixture>
{
    protected override FuzzedNode Fuzzed =>
        new(fixture.Node, fixture.Target, new FuzzTokens(fixture.AdminToken, fixture.WriteToken, fixture.ReadToken));

    // Each request is a TLS handshake too: fewer of them by default, to keep the run short.
    protected override int DefaultCount => 600;
}

/// <summary>
/// Seeded random HTTP requests against one node, checked against a model of what the successful ones wrote.
/// The seed is fixed (<see cref="DefaultSeed"/>), so a failure replays as it is; PAXOS_FUZZ_SEED=&lt;seed&gt; runs
/// another (and PAXOS_FUZZ_COUNT=&lt;n&gt; a longer one). Every failure names the seed. One driver for every
/// configuration: the plain node gets no credentials; against a node with tokens, each request draws its credential
/// from a second generator seeded from the same seed, so the requests draw from the first exactly as in the plain run.
/// </summary>
public abstract class HttpFuzz(ITestOutputHelper output)
{
    private const int MaxValueBytes = 1024 * 1024;

    /// <summary>The seed CI runs; PAXOS_FUZZ_SEED overrides it.</summary>
    public const int DefaultSeed = 20261201;

    /// <summary>PAXOS_FUZZ_SEED if set, else <paramref name="fallback"/>.</summary>
    internal static int Seed(int fallback = DefaultSeed) =>
        int.TryParse(Environment.GetEnvironmentVariable("PAXOS_FUZZ_SEED"), out int s) ? s : fallback;

    private static readonly string[] PoolKeys = Enumerable.Range(0, 6).SelectMany(i => new[]
    {
        $"k{i}", $"dir/sub/k{i}", $"ключ{i}", $"sp ace{i}", $"a%2Fb{i}", $"emoji😀{i}", $"q?{i}&x=#",
    }).ToArray();

    private static readonly string[] Methods = ["GET", "PUT", "DELETE", "POST", "HEAD", "PATCH", "OPTIONS", "TRACE", "CONNECT", "get", "FROB", "P UT", "GE\u0001T", ""];

    /// <summary>What the pool keys may hold. A write answered 503 (or not at all) has an unknown outcome: it may have
    /// been applied, or be applied later (at most once), so it stays pending, and the key may hold its value or the
    /// last certain one from then on. Reads and cas answers are checked against every value the key may hold, and a
    /// read that shows a pending write's value settles it.</summary>
    protected sealed class Model
    {
        public readonly HashSet<string> Refused = []; // the kinds of refusal the guard was seen giving

        private readonly Dictionary<string, byte[]?> _certain = new(); // pool key -> what the last certain write left (null: absent)
        private readonly Dictionary<string, List<byte[]?>> _pending = new(); // pool key -> values of writes with unknown outcome
        public readonly Dictionary<string, byte[]> JunkWritten = new(); // raw target -> last value a 2xx PUT wrote
        public readonly HashSet<string> JunkRejected = []; // raw targets only ever touched by rejected writes
        public readonly Dictionary<string, byte[]> JunkUnknown = new(); // raw target -> value of its only PUT, answered 503 or not at all

        public int PendingCount => _pending.Values.Sum(p => p.Count);

        public byte[]? Certain(string key) => _certain.GetValueOrDefault(key);

        /// <summary>Every value the key may hold now (null: absent).</summary>
        public List<byte[]?> Possible(string key) =>
            new List<byte[]?> { Certain(key) }.Concat(_pending.GetValueOrDefault(key) ?? []).DistinctBy(Show).ToList();

        public bool MayHold(string key, byte[]? value) => Possible(key).Any(v => Same(v, value));

        /// <summary>A write that certainly took effect (2xx): the key holds <paramref name="value"/>.</summary>
        public void Wrote(string key, byte[]? value) => _certain[key] = value;

        /// <summary>A write whose outcome is unknown: it may take effect now, later, or never.</summary>
        public void Unknown(string key, byte[]? value)
        {
            if (!_pending.TryGetValue(key, out var list)) _pending[key] = list = [];
            list.Add(value);
        }

        /// <summary>The key was seen holding <paramref name="value"/> (one of <see cref="Possible"/>). If only a pending write
        /// explains it, that write took effect, and it can take effect only once.</summary>
        public void Observed(string key, byte[]? value)
        {
            if (!Same(Certain(key), value) && _pending.TryGetValue(key, out var list))
            {
                var matching = list.Where(v => Same(v, value)).ToList();
                if (matching.Count == 1) list.Remove(matching[0]);
            }
            _certain[key] = value;
        }

        public static bool Same(byte[]? a, byte[]? b) => a is null ? b is null : b is not null && a.AsSpan().SequenceEqual(b);

        public static string Show(byte[]? v) => v is null ? "absent" : v.Length <= 16 ? Convert.ToHexString(v) : $"{v.Length} bytes {Convert.ToHexString(v, 0, 8)}…";

        public string Describe(string key) => string.Join(" or ", Possible(key).Select(Show));
    }

    /// <summary>Percent-encodes a key the canonical way: every byte but unreserved characters and '/'.</summary>
    private static string Encode(byte[] key)
    {
        var sb = new StringBuilder();
        foreach (byte b in key)
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                or (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~' or (byte)'/')
                sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }

    private static byte[] RandomValue(Random rng) => rng.Next(10) switch
    {
        0 => [],
        1 => RandomBytes(rng, rng.Next(1, 64 * 1024)),
        2 => Encoding.UTF8.GetBytes("ünïcødé " + rng.Next()),
        _ => RandomBytes(rng, rng.Next(1, 200)),
    };

    private static string RandomHeaderLine(Random rng, bool big = true) => rng.Next(12) switch
    {
        0 => "Content-Type: " + new[] { "application/json", "text/plain; charset=utf-8", "application/octet-stream", "multipart/form-data; boundary=x", "garbage" }[rng.Next(5)],
        1 => "Accept: */*",
        2 => "X-Junk-" + rng.Next(1000) + ": " + new string('v', rng.Next(0, 2000)),
        3 => "Content-Encoding: gzip",
        4 => "Authorization: Bearer " + Convert.ToBase64String(RandomBytes(rng, 30)),
        5 => "X-Bin: " + Encoding.Latin1.GetString(RandomBytes(rng, 10)).Replace("\r", "").Replace("\n", ""),
        6 => "Bad Header Name: x",
        7 => "NoColon",
        8 => "Cookie: " + new string('c', rng.Next(0, big ? 40_000 : 8_000)),
        9 => "Range: bytes=0-1",
        10 => "If-None-Match: *",
        _ => "X-Forwarded-For: 10.0.0." + rng.Next(256),
    };

    private sealed record Outcome(RawResponse? Response, Exception? Error);

    private static async Task<Outcome> Exchange(RawHttpTarget to, byte[] wire, bool halfClose, bool head)
    {
        try
        {
            return new Outcome(await RawHttp.SendAsync(to, wire, TimeSpan.FromSeconds(20), halfClose, head), null);
        }
        // IOException and AuthenticationException: the TLS handshake failed
        catch (Exception e) when (e is TimeoutException or InvalidHttpResponseException or System.Net.Sockets.SocketException
                                      or IOException or System.Security.Authentication.AuthenticationException)
        {
            return new Outcome(null, e);
        }
    }

    private static byte[] Frame(string method, string target, IEnumerable<string> headers, byte[]? body, int framing)
    {
        // framing: 0 Content-Length, 1 chunked, 2 no body headers, 3 declared longer than sent, 4 huge declared length, 5 bad chunk
        var head = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        foreach (var h in headers) head.Append(h).Append("\r\n");
        var wire = new MemoryStream();
        body ??= [];
        switch (framing)
        {
            case 0:
                head.Append($"Content-Length: {body.Length}\r\n\r\n");
                wire.Write(Encoding.Latin1.GetBytes(head.ToString()));
                wire.Write(body);
                break;
            case 1:
                head.Append("Transfer-Encoding: chunked\r\n\r\n");
                wire.Write(Encoding.Latin1.GetBytes(head.ToString()));
                SingleNodeFixture.WriteChunked(wire, body, Math.Max(1, body.Length / 3 + 1));
                break;
            case 2:
                wire.Write(Encoding.Latin1.GetBytes(head.Append("\r\n").ToString()));
                break;
            case 3:
                head.Append($"Content-Length: {body.Length + 1000}\r\n\r\n");
                wire.Write(Encoding.Latin1.GetBytes(head.ToString()));
                wire.Write(body);
                break;
            case 4:
                head.Append("Content-Length: 99999999999999\r\n\r\n");
                wire.Write(Encoding.Latin1.GetBytes(head.ToString()));
                wire.Write(body);
                break;
            default:
                head.Append("Transfer-Encoding: chunked\r\n\r\n");
                wire.Write(Encoding.Latin1.GetBytes(head.ToString()));
                wire.Write(Encoding.ASCII.GetBytes($"zz{body.Length:x}\r\n"));
                wire.Write(body);
                wire.Write("\r\n0\r\n\r\n"u8);
                break;
        }
        return wire.ToArray();
    }

    /// <summary>The node this class fuzzes.</summary>
    protected abstract FuzzedNode Fuzzed { get; }

    /// <summary>How many requests a run sends unless PAXOS_FUZZ_COUNT says.</summary>
    protected virtual int DefaultCount => 2000;

    /// <summary>PAXOS_FUZZ_COUNT if set, else <paramref name="fallback"/>.</summary>
    protected static int Count(int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable("PAXOS_FUZZ_COUNT"), out int c) ? c : fallback;

    [Fact]
    public async Task Random_requests_never_crash_the_node_never_answer_500_and_never_change_state_when_rejected()
    {
        var model = await FuzzAsync(Fuzzed, Seed(), Count(DefaultCount));
        if (Fuzzed.Tokens is not null)
            foreach (var kind in new[] { "401 None", "401 Wrong", "403 ReadOnly" })
                Assert.True(model.Refused.Contains(kind), $"no request was refused with {kind} (seen: {string.Join(", ", model.Refused)}): the run checked too little of the guard");
    }

    /// <summary>What a request carries: the plain run nothing, against tokens mostly a good one (admin or write).</summary>
    private enum Credential { Good, None, Wrong, ReadOnly }

    protected async Task<Model> FuzzAsync(FuzzedNode fuzzed, int seed, int count)
    {
        var (node, to, tokens) = fuzzed;
        string config = tokens is null ? "plain" : "HTTPS with tokens";
        output.WriteLine($"HTTP fuzz seed {seed} ({count} requests, {config}); replay with PAXOS_FUZZ_SEED={seed}");
        Console.WriteLine($"HTTP fuzz seed {seed} ({count} requests, {config})");
        // The checks' own requests carry the admin token where there are tokens.
        string[] admin = tokens is null ? [] : [$"Authorization: Bearer {tokens.Admin}"];
        Task<Outcome> Exchange(byte[] wire, bool halfClose, bool head) => HttpFuzz.Exchange(to, wire, halfClose, head);
        Task<RawResponse> Send(string method, string target) => SingleNodeFixture.Send(to, method, target, headers: admin);
        // A read goes through the log too, and may time out (503) like a write; that answer says nothing: ask again.
        async Task<RawResponse> Read(string target)
        {
            for (int attempt = 1; ; attempt++)
            {
                var r = await Send("GET", target);
                if (r.Status != 503 || attempt == 100) return r;
                await Task.Delay(10);
            }
        }
        var rng = new Random(seed);
        // Credentials come from a generator of their own: a seed sends the same requests in every configuration.
        var credentials = new Random(unchecked(seed * 31 + 17));
        Credential Pick() => tokens is null ? Credential.None : credentials.Next(20) switch
        {
            0 => Credential.None, 1 => Credential.Wrong, 2 => Credential.ReadOnly, _ => Credential.Good,
        };
        string[] Authorization(Credential c) => tokens is null ? [] : c switch
        {
            Credential.Good => [$"Authorization: Bearer {(credentials.Next(2) == 0 ? tokens.Admin : tokens.Write)}"],
            Credential.ReadOnly => [$"Authorization: Bearer {tokens.Read}"],
            Credential.Wrong => [credentials.Next(5) switch
            {
                0 => $"Authorization: Bearer {tokens.Admin[..^1]}{(tokens.Admin[^1] == 'A' ? 'B' : 'A')}",
                1 => $"Authorization: Bearer {tokens.Admin}x",
                2 => $"Authorization: Basic {tokens.Admin}",
                3 => "Authorization: Bearer ",
                _ => $"Authorization: Bearer {Convert.ToBase64String(RandomBytes(credentials, 32))}",
            }],
            _ => [],
        };
        // The answer the guard owes a request (null: it reaches its endpoint): 401 without a known token (a junk
        // Authorization among the noise headers makes any token beside it unknown too), 403 for the read scope on a write.
        int? Refusal(Credential c, bool write, IEnumerable<string> noise)
        {
            if (tokens is null) return null;
            if (c is Credential.None or Credential.Wrong || noise.Any(h => h.StartsWith("Authorization:"))) return 401;
            return c is Credential.ReadOnly && write ? 403 : null;
        }
        var model = new Model();
        var failures = new List<string>();
        var histogram = new SortedDictionary<string, int>();
        string run = $"f{seed}";
        var watch = Stopwatch.StartNew();

        void Fail(int i, string what)
        {
            if (failures.Count < 30) failures.Add($"#{i}: {what}");
        }

        static string Cut(string text) => text.Length <= 200 ? text : text[..200] + "…";

        // strictJson: the request line and headers are valid, so the app (not Kestrel's parser) answers
        void CheckResponse(int i, string request, Outcome o, bool expectAnswer, bool strictJson = true)
        {
            // Garbage that Kestrel refuses by closing the connection may lose the tail of its answer to the reset of a
            // socket with unread bytes (seen over TLS: a 400 cut inside its head): a refusal all the same, for a request
            // that was owed no answer. A cut answer where one is owed, or any other malformed answer, is a failure.
            bool cutRefusal = !expectAnswer && o.Error is InvalidHttpResponseException { Message: "connection closed inside the response head" };
            if ((o.Error is InvalidHttpResponseException or TimeoutException) && !cutRefusal)
            {
                Fail(i, $"{request}: {o.Error.GetType().Name}: {o.Error.Message}");
                return;
            }
            if (o.Response is not { } r)
            {
                if (expectAnswer) Fail(i, $"{request}: no answer ({o.Error?.Message ?? "closed"})");
                histogram["closed"] = histogram.GetValueOrDefault("closed") + 1;
                return;
            }
            histogram[r.Status.ToString()] = histogram.GetValueOrDefault(r.Status.ToString()) + 1;
            if (r.Status >= 500 && r.Status != 503) Fail(i, $"{request}: {r.StatusLine} {Cut(r.BodyText)}");
            if (r.Status == 409)
            {
                try
                {
                    using var doc = JsonDocument.Parse(r.Body);
                    if (doc.RootElement.GetProperty("swapped").GetBoolean()) Fail(i, $"{request}: 409 with swapped=true");
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                {
                    Fail(i, $"{request}: 409 that is not a CAS answer: {Cut(r.BodyText)}");
                }
            }
            else if (r.Status >= 400 && r.Body.Length > 0 && !r.IsJsonError()) Fail(i, $"{request}: {r.StatusLine}, not a JSON error: {Cut(r.BodyText)}");
            if (strictJson && r.Status is 401 or 403 or 404 or 405 or 413 or 503 && r.Body.Length == 0 && !request.StartsWith("HEAD"))
                Fail(i, $"{request}: {r.StatusLine} without a JSON body");
        }

        // A request the guard must refuse got exactly that answer (CheckResponse saw to its JSON error), with the challenge on
        // a 401; or, where the target itself may be invalid (kestrel400), Kestrel's own empty 400 before any middleware.
        void CheckRefused(int i, string request, Credential c, Outcome o, int want, bool kestrel400 = false)
        {
            if (o.Response is not { } r) return; // CheckResponse said whether an answer was due
            if (r.Status == want)
            {
                model.Refused.Add($"{want} {c}");
                if (want == 401 && r.Header("WWW-Authenticate")?.StartsWith("Bearer") != true) Fail(i, $"{request}: 401 without a Bearer challenge");
            }
            else if (!(kestrel400 && r.Status == 400 && r.Body.Length == 0))
                Fail(i, $"{request} with credential {c}: expected {want}, got {r.StatusLine} {Cut(r.BodyText)}");
        }

        for (int i = 0; i < count; i++)
        {
            if (i % 250 == 0 && node.HasExited) Fail(i, "the node process exited");
            int kind = rng.Next(100);
            if (kind < 50)
            {
                // A well-formed request on a pool key, with noise that must not matter, or a framing that must fail.
                string key = PoolKeys[rng.Next(PoolKeys.Length)];
                string target = Encode(Encoding.UTF8.GetBytes(key));
                string[] ops = ["GET", "PUT", "DELETE", "POST"];
                string method = ops[rng.Next(ops.Length)];
                target = (method == "POST" ? "/cas/" : "/kv/") + target + (rng.Next(8) == 0 ? "?ignored=" + rng.Next() : "");
                var headers = Enumerable.Range(0, rng.Next(3)).Select(_ => RandomHeaderLine(rng, big: false)).Where(h => h.Contains(": ") && !h.StartsWith("Bad") && !h.StartsWith("X-Bin")).ToList();
                if (rng.Next(20) == 0) headers.Add("Expect: 100-continue");
                var credential = Pick();
                int? refusal = Refusal(credential, method != "GET", headers);
                headers.AddRange(Authorization(credential));
                int framing = rng.Next(20) switch { < 12 => 0, < 16 => 1, 16 => 3, 17 => 4, 18 => 5, _ => 0 };
                byte[]? body = null;
                byte[]? newValue = null;
                byte[]? expected = null;
                bool expectedAbsent = false;
                if (method == "PUT")
                {
                    body = rng.Next(100) == 0 ? new byte[MaxValueBytes + rng.Next(0, 2)] : RandomValue(rng);
                    newValue = body;
                }
                else if (method == "POST")
                {
                    var current = model.Certain(key);
                    string? exp = rng.Next(3) switch
                    {
                        0 => current is null ? null : Encoding.UTF8.GetString(current),
                        1 => null,
                        _ => "guess" + rng.Next(3),
                    };
                    string? val = rng.Next(6) == 0 ? null : "cas-" + rng.Next(1000) + "-ж";
                    body = rng.Next(15) == 0
                        ? Encoding.UTF8.GetBytes("{\"expected\": " + rng.Next())
                        : Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string?> { ["expected"] = exp, ["value"] = val }));
                    expected = exp is null ? null : Encoding.UTF8.GetBytes(exp);
                    expectedAbsent = exp is null;
                    newValue = val is null ? null : Encoding.UTF8.GetBytes(val);
                }
                else if (framing is 3 or 4 or 5) framing = 0;
                if (method is "GET" or "DELETE" && rng.Next(2) == 0) framing = 2;
                bool halfClose = framing == 3;
                var o = await Exchange(Frame(method, target, headers, body, framing), halfClose, head: false);
                string request = $"{method} {target} (framing {framing}, {body?.Length ?? 0} bytes)";
                CheckResponse(i, request, o, expectAnswer: !halfClose);
                if (refusal is { } want)
                {
                    // Refused: the model stays as it was, and a later read of the key shows if the node did not.
                    CheckRefused(i, request, credential, o, want);
                    continue;
                }
                var r = o.Response;
                if (r is null && halfClose) continue; // a body cut short: rejected, must change nothing
                if (r is null || r.Status == 503)
                {
                    // Unknown outcome: a write may hold from now on (or later), or not at all.
                    if (method == "PUT") model.Unknown(key, newValue);
                    else if (method == "DELETE") model.Unknown(key, null);
                    else if (method == "POST") model.Unknown(key, newValue);
                    continue;
                }
                bool ok = r.Status is >= 200 and < 300;
                if (framing is 3 or 4 or 5 && ok) Fail(i, $"{request}: a broken body was accepted: {r.StatusLine}");
                switch (method)
                {
                    case "GET":
                        byte[]? seen = r.Status == 200 ? r.Body : r.Status == 404 ? null : model.Certain(key);
                        if (r.Status is not (200 or 404)) Fail(i, $"{request}: expected 200 or 404, got {r.StatusLine}");
                        else if (!model.MayHold(key, seen))
                            Fail(i, $"{request}: got {r.StatusLine} ({Model.Show(seen)}), but the key holds {model.Describe(key)}");
                        else model.Observed(key, seen);
                        break;
                    case "PUT":
                        if (ok) model.Wrote(key, newValue);
                        else if (body!.Length <= MaxValueBytes && framing is 0 or 1) Fail(i, $"{request}: a valid PUT failed: {r.StatusLine} {Cut(r.BodyText)}");
                        break;
                    case "DELETE":
                        if (ok) model.Wrote(key, null);
                        else Fail(i, $"{request}: a DELETE failed: {r.StatusLine} {Cut(r.BodyText)}");
                        break;
                    case "POST" when r.Status == 200:
                        // Swapped: the key held what was expected, of the values it may hold.
                        var expectedValue = expectedAbsent ? null : expected;
                        if (!model.MayHold(key, expectedValue))
                            Fail(i, $"{request}: CAS swapped from {Model.Show(expectedValue)}, but the key holds {model.Describe(key)}");
                        else model.Observed(key, expectedValue);
                        model.Wrote(key, newValue);
                        break;
                    case "POST" when r.Status == 409:
                        // Not swapped: the answer names what the key held, which must be one of its values and not the expected one.
                        string? current;
                        try
                        {
                            using var doc = JsonDocument.Parse(r.Body);
                            var reported = doc.RootElement.GetProperty("current");
                            current = reported.ValueKind == JsonValueKind.Null ? null : reported.GetString();
                        }
                        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                        {
                            break; // reported by CheckResponse
                        }
                        var candidates = model.Possible(key).Where(v => v is null ? current is null : current is not null && Encoding.UTF8.GetString(v) == current).ToList();
                        if (candidates.Count == 0)
                            Fail(i, $"{request}: CAS answered 409 with current {(current is null ? "absent" : $"'{Cut(current)}'")}, but the key holds {model.Describe(key)}");
                        else if (candidates.All(v => Model.Same(v, expectedAbsent ? null : expected)))
                            Fail(i, $"{request}: CAS answered 409, but the key held what it expected ({Model.Show(expectedAbsent ? null : expected)})");
                        else if (candidates.Count == 1) model.Observed(key, candidates[0]);
                        break;
                }
            }
            else if (kind < 75)
            {
                // A request on a key of random bytes (any percent-encoding, invalid UTF-8 included), unique to it.
                var raw = new StringBuilder($"/kv/{run}-j{i}-");
                foreach (byte b in RandomBytes(rng, rng.Next(1, 40)))
                    raw.Append(rng.Next(4) == 0 && b is > 32 and < 127 and not (byte)'%' and not (byte)'?' and not (byte)'#' ? ((char)b).ToString() : "%" + b.ToString("X2"));
                if (rng.Next(10) == 0) raw.Append(new[] { "%C3%28", "%FF", "%ED%A0%80", "%C0%AF", "%E2%82", "%", "%2", "%G1" }[rng.Next(8)]);
                string target = raw.ToString();
                bool put = rng.Next(3) > 0;
                byte[] body = RandomValue(rng);
                int framing = rng.Next(6) == 0 ? rng.Next(3, 6) : rng.Next(2);
                var credential = Pick();
                int? refusal = Refusal(credential, put, []);
                var o = await Exchange(Frame(put ? "PUT" : "GET", target, Authorization(credential), put ? body : null, put ? framing : 2), framing == 3 && put, false);
                CheckResponse(i, $"{(put ? "PUT" : "GET")} {target}", o, expectAnswer: !(put && framing == 3));
                if (refusal is { } want) CheckRefused(i, $"{(put ? "PUT" : "GET")} {target}", credential, o, want, kestrel400: true);
                if (!put) continue;
                if (refusal is not null)
                {
                    model.JunkRejected.Add(target);
                    continue;
                }
                if (o.Response is { Status: >= 200 and < 300 })
                {
                    if (framing >= 3) Fail(i, $"PUT {target}: a broken body was accepted");
                    model.JunkWritten[target] = body;
                }
                else if (o.Response is { Status: 503 } || (o.Response is null && framing != 3)) model.JunkUnknown[target] = body;
                else model.JunkRejected.Add(target);
            }
            else
            {
                // Garbage: odd methods, malformed targets and headers, lying bodies. Writes to g{i} must not stick unless answered 2xx.
                string method = Methods[rng.Next(Methods.Length)];
                string baseKey = $"{run}-g{i}";
                string target = rng.Next(14) switch
                {
                    0 => $"/kv/{baseKey}" + new string('x', rng.Next(2000, 20_000)),
                    1 => $"/kv/{baseKey}?%ZZ=%%&a=\u00ff",
                    2 => $"/kv/{baseKey}#frag",
                    3 => $"/kv/{baseKey}\u0000",
                    4 => $"/kv/{baseKey} junk",
                    5 => $"*",
                    6 => $"http://127.0.0.1/kv/{baseKey}",
                    7 => $"/kv/x/../{baseKey}",
                    8 => $"kv/{baseKey}",
                    9 => $"/cas/{baseKey}",
                    10 => "/status",
                    11 => "/" + Encoding.Latin1.GetString(RandomBytes(rng, rng.Next(1, 30))).Replace("\r", "").Replace("\n", ""),
                    12 => $"/kv/{baseKey}/%2E%2E/%2e",
                    _ => $"//kv//{baseKey}",
                };
                var headers = Enumerable.Range(0, rng.Next(4)).Select(_ => RandomHeaderLine(rng)).ToList();
                if (rng.Next(10) == 0) headers.Add("Content-Length: 5");
                if (rng.Next(10) == 0) headers.Add("Transfer-Encoding: gzip, chunked");
                byte[] body = rng.Next(2) == 0 ? RandomBytes(rng, rng.Next(0, 3000)) : Encoding.UTF8.GetBytes("{\"expected\":null,\"value\":\"g\"}");
                int framing = rng.Next(6);
                var credential = Pick();
                bool read = method.Equals("GET", StringComparison.OrdinalIgnoreCase) || method.Equals("HEAD", StringComparison.OrdinalIgnoreCase);
                int? refusal = Refusal(credential, !read, headers);
                headers.AddRange(Authorization(credential));
                var o = await Exchange(Frame(method, target, headers, body, framing), framing == 3, method == "HEAD");
                string request = $"{method} {target[..Math.Min(80, target.Length)]} (framing {framing})";
                CheckResponse(i, request, o, expectAnswer: false, strictJson: false);
                // Garbage may fail in Kestrel before the guard sees it, so any refusal will do, but never a success.
                if (refusal is not null && o.Response is { Status: >= 200 and < 300 } passed)
                    Fail(i, $"{request} with credential {credential}: got past the guard: {passed.StatusLine}");
                if (o.Response is not { Status: >= 200 and < 300 } && o.Response is not { Status: 503 })
                    model.JunkRejected.Add($"/kv/{baseKey}");
            }
        }
        output.WriteLine($"{count} requests in {watch.Elapsed.TotalSeconds:0.0} s; answers: {string.Join(", ", histogram.Select(h => $"{h.Key}×{h.Value}"))}");

        // The node is alive and answers.
        Assert.False(node.HasExited, $"seed {seed}: the node exited:\n{node.Output}");
        var status = await Send("GET", "/status");
        Assert.True(status.Status == 200, $"seed {seed}: GET /status answered {status.StatusLine}");

        // Every pool key holds what the last acknowledged write left, or the value of a write whose outcome is unknown
        // (answered 503 or not at all); what only rejected writes touched is absent.
        foreach (var key in PoolKeys)
        {
            string target = "/kv/" + Encode(Encoding.UTF8.GetBytes(key));
            var r = await Read(target);
            byte[]? seen = r.Status == 200 ? r.Body : null;
            if (r.Status is not (200 or 404) || !model.MayHold(key, seen))
                failures.Add($"after fuzzing, {target}: got {r.StatusLine} ({Model.Show(seen)}), but the key holds {model.Describe(key)}");
        }
        foreach (var (target, want) in model.JunkWritten)
        {
            var r = await Read(target);
            if (r.Status != 200 || !r.Body.AsSpan().SequenceEqual(want))
                failures.Add($"after fuzzing, {target}: expected 200 with {want.Length} bytes, got {r.StatusLine} with {r.Body.Length} bytes");
        }
        foreach (var target in model.JunkRejected.Where(t => !model.JunkWritten.ContainsKey(t)))
        {
            var r = await Read(target);
            if (r.Status is 200) failures.Add($"after fuzzing, {target}: only rejected requests touched it, yet it holds {r.Body.Length} bytes");
        }
        // A junk target's one PUT of unknown outcome: absent (or not a valid key at all), or exactly that value.
        foreach (var (target, value) in model.JunkUnknown)
        {
            var r = await Read(target);
            if (r.Status >= 500 || (r.Status == 200 && !r.Body.AsSpan().SequenceEqual(value)))
                failures.Add($"after fuzzing, {target}: its only PUT had an unknown outcome, so absent or {value.Length} bytes; got {r.StatusLine} with {r.Body.Length} bytes");
        }
        output.WriteLine($"checked {PoolKeys.Length} pool keys ({model.PendingCount} writes of unknown outcome among them), {model.JunkWritten.Count} written, " +
                         $"{model.JunkRejected.Count} rejected and {model.JunkUnknown.Count} unknown junk targets in {watch.Elapsed.TotalSeconds:0.0} s");
        Assert.True(failures.Count == 0, $"seed {seed} (replay: PAXOS_FUZZ_SEED={seed}): {failures.Count} problems:\n" + string.Join("\n", failures));
        return model;
    }
}
