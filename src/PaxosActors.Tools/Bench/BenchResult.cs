using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace PaxosActors.Tools.Bench;

/// <summary>What one <c>bench</c> run measured, and its one-line JSON form.</summary>
public sealed record BenchResult
{
    /// <summary>Latencies are recorded in microseconds, up to an hour.</summary>
    public const long MaxLatencyUs = 3_600_000_000;

    public long Ops { get; init; }
    public long Errors { get; init; }
    public long Timeouts { get; init; }
    public long Reads { get; init; }
    public long Writes { get; init; }
    public double DurationSeconds { get; init; }
    public double P50Ms { get; init; }
    public double P90Ms { get; init; }
    public double P99Ms { get; init; }
    public double P999Ms { get; init; }
    public double MaxMs { get; init; }
    public required BenchOptions Options { get; init; }
    public string? Mode { get; init; }
    public double? ServerCpuSeconds { get; init; }
    public IReadOnlyList<double?>? PeakRssMb { get; init; }
    public double BenchCpuSeconds { get; init; }

    public double OpsPerSecond => DurationSeconds > 0 ? Ops / DurationSeconds : 0;

    public static LongHistogram NewHistogram() => new(MaxLatencyUs, 3);

    /// <summary>Fills the latency fields from a histogram of microseconds.</summary>
    public BenchResult WithLatencies(HistogramBase us)
    {
        if (us.TotalCount == 0) return this with { P50Ms = 0, P90Ms = 0, P99Ms = 0, P999Ms = 0, MaxMs = 0 };
        double Ms(long v) => Math.Round(v / 1000.0, 3);
        return this with
        {
            P50Ms = Ms(us.GetValueAtPercentile(50)),
            P90Ms = Ms(us.GetValueAtPercentile(90)),
            P99Ms = Ms(us.GetValueAtPercentile(99)),
            P999Ms = Ms(us.GetValueAtPercentile(99.9)),
            MaxMs = Ms(us.GetMaxValue()),
        };
    }

    /// <summary>The result as one line of JSON, fields in a fixed order.</summary>
    public string ToJsonLine()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("ops", Ops);
            w.WriteNumber("errors", Errors);
            w.WriteNumber("timeouts", Timeouts);
            w.WriteNumber("reads", Reads);
            w.WriteNumber("writes", Writes);
            w.WriteNumber("ops_per_s", Math.Round(OpsPerSecond, 1));
            w.WriteNumber("p50_ms", P50Ms);
            w.WriteNumber("p90_ms", P90Ms);
            w.WriteNumber("p99_ms", P99Ms);
            w.WriteNumber("p999_ms", P999Ms);
            w.WriteNumber("max_ms", MaxMs);
            w.WriteNumber("workers", Options.Workers);
            w.WriteNumber("duration_s", Math.Round(DurationSeconds, 3));
            w.WriteNumber("warmup_s", Options.WarmupSeconds);
            w.WriteNumber("value_size", Options.ValueSize);
            w.WriteNumber("keys", Options.Keys);
            w.WriteNumber("read_ratio", Options.ReadRatio);
            w.WriteNumber("seed", Options.Seed);
            if (Mode is null) w.WriteNull("mode"); else w.WriteString("mode", Mode);
            if (Options.StartsCluster)
            {
                w.WriteNumber("nodes", Options.Nodes);
            }
            else
            {
                w.WriteStartArray("endpoints");
                foreach (var e in Options.Endpoints) w.WriteStringValue(e);
                w.WriteEndArray();
            }
            if (ServerCpuSeconds is { } cpu) w.WriteNumber("server_cpu_s", Math.Round(cpu, 2)); else w.WriteNull("server_cpu_s");
            if (PeakRssMb is null)
            {
                w.WriteNull("peak_rss_mb");
            }
            else
            {
                w.WriteStartArray("peak_rss_mb");
                foreach (var mb in PeakRssMb)
                    if (mb is { } m) w.WriteNumberValue(Math.Round(m, 1)); else w.WriteNullValue();
                w.WriteEndArray();
            }
            w.WriteNumber("bench_cpu_s", Math.Round(BenchCpuSeconds, 2));
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
