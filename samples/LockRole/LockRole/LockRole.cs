using System.Text.Json;
using Akka.Configuration;
using Akka.Event;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using PaxosActors.Hosting;
using PaxosActors.Http;
using PaxosActors.Replication;

namespace Samples.Locks;

/// <summary>
/// A replicated lock service with fencing tokens, as a role that writes: its commands go through the log
/// (<see cref="NodeContext.Commands"/>) and its state machine (<see cref="LockTable"/>, registered as "locks") applies
/// them on every learner node. HTTP under <c>/roles/locks</c>:
/// <c>POST /{name}/acquire {"owner": "a", "ttl_ms": 30000}</c>, <c>POST /{name}/release {"owner": "a", "token": 7}</c>,
/// <c>GET /{name}</c>. It owns replicated state, so it runs on every learner node.
/// </summary>
public sealed class LockRole : IHttpRole
{
    /// <summary>The name of the role and of its state machine.</summary>
    public const string StateMachineName = "locks";

    public string Name => StateMachineName;

    public void Configure(NodeContext node)
    {
        if (!node.Roles.Contains("learner"))
            throw new ConfigurationException("akka.cluster.roles: the locks role owns replicated state and needs the learner role on its node");
        var settings = LockSettings.Create(node.Config);
        var view = new LockView();
        node.AddService(view);
        node.AddService(new LockService(node.Commands, settings));
        node.StateMachines.Register(StateMachineName, () => new LockTable(view));
    }

    public void Start(NodeContext node) =>
        node.System.Log.Info("locks: serving leases with fencing tokens (default ttl {0}, at most {1})",
            node.Service<LockService>()!.Settings.DefaultTtl, node.Service<LockService>()!.Settings.MaxTtl);

    public object? Status(NodeContext node) =>
        node.Service<LockView>()?.Current is { } v ? new { held = v.Held, last_token = v.LastToken } : null;

    public void MapRoutes(IEndpointRouteBuilder routes, RoleNode node)
    {
        routes.MapGet("/{name}", (string name, HttpContext http) =>
            Run(node, locks => locks.ReadAsync(name, http.RequestAborted), r => Results.Json(new
            {
                @lock = r.Lock, held = r.Held, owner = r.Owner, token = r.Token, expires_at_ms = r.ExpiresAtMs,
            })));
        routes.MapPost("/{name}/acquire", async (string name, HttpContext http) =>
        {
            if (await Body<AcquireRequest>(http) is not { Owner: { } owner } request) return RoleNode.Error(400, "expected {\"owner\": string, \"ttl_ms\": number?}");
            var ttl = request.TtlMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
            return await Run(node, locks => locks.AcquireAsync(name, owner, ttl, http.RequestAborted), r => Results.Json(new
            {
                acquired = r.Ok, @lock = r.Lock, owner = r.Owner, token = r.Token, expires_at_ms = r.ExpiresAtMs,
            }, statusCode: r.Ok ? 200 : 409));
        });
        routes.MapPost("/{name}/release", async (string name, HttpContext http) =>
        {
            if (await Body<ReleaseRequest>(http) is not { Owner: { } owner, Token: { } token })
                return RoleNode.Error(400, "expected {\"owner\": string, \"token\": number}");
            return await Run(node, locks => locks.ReleaseAsync(name, owner, token, http.RequestAborted), r => Results.Json(new
            {
                released = r.Ok, @lock = r.Lock, owner = r.Owner, token = r.Token,
            }, statusCode: r.Ok ? 200 : 409));
        });
    }

    private static async Task<IResult> Run(RoleNode node, Func<LockService, Task<LockResult>> call, Func<LockResult, IResult> answer)
    {
        if (node.Service<LockService>() is not { } locks) return RoleNode.Unavailable();
        try
        {
            return answer(await call(locks));
        }
        catch (ArgumentException e)
        {
            return RoleNode.Error(400, e.Message);
        }
        catch (CommandTimeoutException e)
        {
            return RoleNode.Error(503, e.Message);
        }
        catch (InvalidOperationException e)
        {
            return RoleNode.Error(503, e.Message); // no proposer on this node
        }
    }

    private static async Task<T?> Body<T>(HttpContext http) where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(http.Request.Body, LockJson.Options, http.RequestAborted);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record AcquireRequest(string? Owner, long? TtlMs);

    private sealed record ReleaseRequest(string? Owner, long? Token);
}
