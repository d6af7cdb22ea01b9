using System.Text.Encodings.Web;
using System.Text.Json;
using Akka.Actor;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using PaxosActors.Actors;
using PaxosActors.Hosting;

namespace PaxosActors.Node.Http;

/// <summary>
/// <c>GET /health/live</c> and <c>GET /health/ready</c>, as ASP.NET Core health checks (200 when every check of the group
/// is healthy, 503 otherwise), with a JSON body naming each check, its status and why. Live: the node's ActorSystem
/// answers a message (a node being restarted by its runner is briefly not live). Ready: <see cref="NodeReadiness"/>.
/// </summary>
public static class HealthApi
{
    private const string Live = "live";
    private const string Ready = "ready";
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(2);

    public static void AddChecks(IServiceCollection services, NodeRunner runner) =>
        services.AddHealthChecks()
            .AddAsyncCheck("actor-system", () => ActorSystemAsync(runner), [Live])
            .AddCheck("acceptor", () => Judge(runner, c => NodeReadiness.Acceptor(c.Roles.Contains("acceptor"), c.Health)), [Ready])
            .AddCheck("journal", () => Judge(runner, c => NodeReadiness.Journal(c.JournalError, c.Health)), [Ready])
            .AddAsyncCheck("learner", () => LearnerAsync(runner), [Ready]);

    public static void Map(WebApplication app)
    {
        app.MapHealthChecks("/health/live", Options(Live));
        app.MapHealthChecks("/health/ready", Options(Ready));
    }

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = check => check.Tags.Contains(tag),
        ResponseWriter = WriteAsync,
    };

    private static HealthCheckResult Result(Readiness r) =>
        r.Ready ? HealthCheckResult.Healthy(r.Reason) : HealthCheckResult.Unhealthy(r.Reason);

    private static HealthCheckResult Judge(NodeRunner runner, Func<NodeContext, Readiness> rule) =>
        runner.Current is { } host ? Result(rule(host.Context)) : Starting;

    private static readonly HealthCheckResult Starting = HealthCheckResult.Unhealthy("this node is starting or restarting");

    /// <summary>The ActorSystem runs and its actors answer: the directory actor resolves within the timeout.</summary>
    private static async Task<HealthCheckResult> ActorSystemAsync(NodeRunner runner)
    {
        if (runner.Current is not { } host) return Starting;
        if (host.WhenTerminated.IsCompleted) return HealthCheckResult.Unhealthy("the ActorSystem has terminated");
        try
        {
            await host.System.ActorSelection("/user/paxos-directory").ResolveOne(AskTimeout);
            return HealthCheckResult.Healthy("the ActorSystem answers");
        }
        catch (Exception e) when (e is ActorNotFoundException or AskTimeoutException or TaskCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the ActorSystem did not answer within {AskTimeout.TotalSeconds:0} s");
        }
    }

    private static async Task<HealthCheckResult> LearnerAsync(NodeRunner runner)
    {
        if (runner.Current is not { } host) return Starting;
        LearnerStatus? status = null;
        if (host.Context.Paxos.Learner is { } learner)
        {
            try
            {
                status = await learner.Ask<LearnerStatus>(GetLearnerStatus.Instance, AskTimeout);
            }
            catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
            {
                // restarting under its supervisor: not ready
            }
        }
        return Result(NodeReadiness.Learner(host.Context.Roles.Contains("learner"), status, host.Settings.MaxLearnerLag));
    }

    /// <summary><c>{"status": "Healthy|Unhealthy", "checks": {"acceptor": {"status": ..., "description": ...}, ...}}</c></summary>
    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        // Relaxed escaping: the reasons quote SQLite's messages ('database or disk is full'), and this is never HTML.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description);
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return http.Response.Body.WriteAsync(buffer.ToArray()).AsTask();
    }
}
