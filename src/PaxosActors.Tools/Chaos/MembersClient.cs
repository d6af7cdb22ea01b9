using System.Net;
using System.Text.Json;

namespace PaxosActors.Tools.Chaos;

/// <summary>One node's answer of <c>GET /admin/members</c> (or of a change): the acceptors in force from
/// <paramref name="FromSlot"/>, whether a change is pending (chosen, not in force yet), and the node's applied slot.</summary>
public sealed record MembersView(IReadOnlyList<int> Acceptors, long FromSlot, IReadOnlyList<int>? PendingAcceptors, long AppliedSlot)
{
    public bool Pending => PendingAcceptors is not null;

    public override string ToString() =>
        $"[{Ids(Acceptors)}] from slot {FromSlot}{(PendingAcceptors is { } p ? $", pending [{Ids(p)}]" : "")}, applied slot {AppliedSlot}";

    public static string Ids(IEnumerable<int> ids) => string.Join(",", ids);

    internal static MembersView Parse(JsonElement r)
    {
        var inForce = r.GetProperty("in_force");
        var pending = r.TryGetProperty("pending", out var p) && p.ValueKind == JsonValueKind.Object ? AcceptorsOf(p) : null;
        return new MembersView(AcceptorsOf(inForce), inForce.GetProperty("from_slot").GetInt64(), pending,
            r.GetProperty("applied_slot").GetInt64());
    }

    private static List<int> AcceptorsOf(JsonElement membership) =>
        membership.GetProperty("acceptors").EnumerateArray().Select(e => e.GetInt32()).Order().ToList();
}

/// <summary>How a membership change through <c>POST|DELETE /admin/members/{id}</c> ended, from the harness's side.</summary>
public enum ChangeAnswer
{
    /// <summary>200: in force; <see cref="MemberChangeOutcome.View"/> says what is.</summary>
    InForce,

    /// <summary>409: another change is pending, or overtook this one; nothing of this request is in force: retry later.</summary>
    Conflict,

    /// <summary>Certainly not attempted: the node answered 503 before proposing anything (it runs no proposer, e.g. while
    /// it starts). Try again, through another node. (A refused connection is not proof: see
    /// <see cref="MembersClient.ChangeAsync"/>.)</summary>
    NotAttempted,

    /// <summary>Outcome unknown: 503 "not in force in time; it may still take effect", no answer, any transport error.</summary>
    Unknown,

    /// <summary>Refused for what it asks (404 not a member, 400 the last acceptor, ...): nothing was proposed.</summary>
    Rejected,
}

public sealed record MemberChangeOutcome(ChangeAnswer Answer, int Status, MembersView? View, string Text);

/// <summary>The operator interface to the acceptor set (README, "Changing the acceptor set") as the chaos harness calls it.
/// Reads go through <paramref name="http"/>; changes through <paramref name="changes"/>, whose connections must never be
/// reused (its handler's <c>PooledConnectionLifetime</c> zero; each change also says <c>Connection: close</c>): see
/// <see cref="ChangeAsync"/>. A change answers only once it is in force, or after the node's own 20 s bound.</summary>
public sealed class MembersClient(HttpClient http, HttpClient changes)
{
    /// <summary>Above the node's own 20 s for a change, plus a pause of the node (up to 12 s) while it works on it.</summary>
    public static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(40);

    /// <summary><c>GET /admin/members</c>, or null if the node does not answer it in time.</summary>
    public async Task<MembersView?> GetAsync(string node, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            using var resp = await http.GetAsync($"{node}/admin/members", cts.Token);
            if (resp.StatusCode != HttpStatusCode.OK) return null;
            using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync(cts.Token));
            return MembersView.Parse(doc.RootElement);
        }
        catch (Exception e) when (KvClient.IsNetworkFailure(e) || e is JsonException or KeyNotFoundException
                                      or InvalidOperationException)
        {
            ct.ThrowIfCancellationRequested();
            return null;
        }
    }

    /// <summary><c>POST /admin/members/{id}</c> (<paramref name="add"/>) or <c>DELETE /admin/members/{id}</c>, on a connection
    /// of its own. Any transport error is an unknown outcome, a refused connection too: on a connection it reused,
    /// HttpClient sends a request without a body again on a new one when the first closes before answering (dotnet/runtime
    /// issue 86714), so "connection refused" can be the answer to that second attempt, after the node took the first and
    /// died. A 30-minute run saw exactly that: a DELETE through node 1 took effect 50 ms after it was sent (node 3's log
    /// says it was removed), node 1 was SIGKILLed 1.5 s later, and the client reported the connection refused.</summary>
    public async Task<MemberChangeOutcome> ChangeAsync(string node, bool add, int id, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(ChangeTimeout);
        try
        {
            using var request = new HttpRequestMessage(add ? HttpMethod.Post : HttpMethod.Delete, $"{node}/admin/members/{id}");
            request.Headers.ConnectionClose = true; // a connection of its own, never pooled: nothing for HttpClient to retry on
            using var resp = await changes.SendAsync(request, cts.Token);
            string text = await resp.Content.ReadAsStringAsync(cts.Token);
            int status = (int)resp.StatusCode;
            string shortText = text.Length > 300 ? text[..300] : text;
            switch (resp.StatusCode)
            {
                case HttpStatusCode.OK:
                    try
                    {
                        using var doc = JsonDocument.Parse(text);
                        return new MemberChangeOutcome(ChangeAnswer.InForce, status, MembersView.Parse(doc.RootElement), shortText);
                    }
                    catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
                    {
                        return new MemberChangeOutcome(ChangeAnswer.Unknown, status, null, $"200 with an answer that does not read: {shortText}");
                    }
                case HttpStatusCode.Conflict:
                    return new MemberChangeOutcome(ChangeAnswer.Conflict, status, null, shortText);
                case HttpStatusCode.ServiceUnavailable:
                    // "runs no proposer" comes before anything is proposed; the others may follow a proposal ("runs no
                    // learner, or it is starting" too: the node checks its learner again after another change came first).
                    return new MemberChangeOutcome(text.Contains("runs no proposer") ? ChangeAnswer.NotAttempted : ChangeAnswer.Unknown,
                        status, null, shortText);
                case HttpStatusCode.BadRequest or HttpStatusCode.NotFound:
                    return new MemberChangeOutcome(ChangeAnswer.Rejected, status, null, shortText);
                default:
                    return new MemberChangeOutcome(ChangeAnswer.Unknown, status, null, shortText);
            }
        }
        catch (Exception e) when (KvClient.IsNetworkFailure(e))
        {
            ct.ThrowIfCancellationRequested();
            string what = e is TaskCanceledException ? $"no answer within {ChangeTimeout.TotalSeconds:0} s" : e.Message;
            return new MemberChangeOutcome(ChangeAnswer.Unknown, 0, null, what);
        }
    }
}
