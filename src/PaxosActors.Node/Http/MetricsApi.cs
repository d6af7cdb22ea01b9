using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using PaxosActors.Diagnostics;

namespace PaxosActors.Node.Http;

/// <summary>
/// <c>GET /metrics</c>: the node's metrics in Prometheus text format, through OpenTelemetry's Prometheus exporter: the
/// library's meter (<see cref="PaxosMetrics"/>) and this executable's own, which times every HTTP request by route,
/// method and status (<c>paxos_http_request_duration_seconds</c>). Names and meanings: README, "Metrics and health".
/// </summary>
public static class MetricsApi
{
    /// <summary>The meter of the HTTP front end.</summary>
    public const string MeterName = "PaxosActors.Node";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>("paxos.http.request.duration", "s",
        "Time from a request's arrival to its answer, by route (the pattern that matched, not the key), method and status.",
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10],
        });

    // Status labels without a string per request.
    private static readonly string[] StatusText = Enumerable.Range(0, 600).Select(s => s.ToString()).ToArray();

    public static void AddServices(IServiceCollection services) =>
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(PaxosMetrics.MeterName, MeterName)
            // The runtime's own meter: GC heap size per generation after the last collection, committed memory, GC
            // counts and pause time, working set, thread-pool queue (dotnet_gc_*, dotnet_process_*): where a node's memory is.
            .AddMeter("System.Runtime")
            // Every scrape sees the counters as they are (the exporter's default caches an answer for 300 ms).
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));

    /// <summary>Starts listening to the meters now, rather than when the web host starts.</summary>
    public static void Listen(WebApplication app) => app.Services.GetRequiredService<MeterProvider>();

    /// <summary>Times every request (before the endpoints map, so it sees them all) and serves <c>/metrics</c>.</summary>
    public static void Map(WebApplication app)
    {
        app.Use(TimedAsync);
        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    private static async Task TimedAsync(HttpContext http, RequestDelegate next)
    {
        long started = Stopwatch.GetTimestamp();
        try
        {
            await next(http);
        }
        finally
        {
            int status = http.Response.StatusCode;
            var tags = new TagList
            {
                { "route", (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched" },
                { "method", Method(http.Request.Method) },
                { "status", status is >= 0 and < 600 ? StatusText[status] : "other" },
            };
            RequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tags);
        }
    }

    /// <summary>The standard methods by name, anything else as one label, so that a client cannot grow the label set.</summary>
    private static string Method(string method) => HttpMethods.GetCanonicalizedValue(method) switch
    {
        "GET" => "GET", "PUT" => "PUT", "POST" => "POST", "DELETE" => "DELETE", "HEAD" => "HEAD",
        "PATCH" => "PATCH", "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
}
