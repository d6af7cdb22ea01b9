using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using PaxosActors.Tools.Bench;

namespace PaxosActors.Tools.Commands;

/// <summary>
/// <c>bench</c>: closed-loop load (PUT /kv/{key}, and GET with --read-ratio) against given endpoints, or
/// against a cluster of node processes it starts on free ports in a temporary directory and stops at the end.
/// Prints progress while it runs and exactly one JSON line of results on stdout at the end.
/// </summary>
public static class BenchCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = BenchOptions.Parse(args);
        // With --json-only stdout carries the result line alone; everything else goes to stderr.
        var info = options.JsonOnly ? Console.Error : Console.Out;
        bool terminal = options.JsonOnly ? !Console.IsErrorRedirected : !Console.IsOutputRedirected;

        using var stopping = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; stopping.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            if (!options.StartsCluster) return await RunAsync(options, options.Endpoints, null, info, terminal, stopping.Token);

            info.WriteLine($"bench: starting {options.Nodes} node(s) ({options.Mode}-Paxos) on free ports");
            await using var cluster = new BenchCluster(options.Nodes, options.Mode, options.LogLevel, Console.Error, options.NodeConfig);
            if (!await cluster.WaitReadyAsync(TimeSpan.FromSeconds(90), stopping.Token))
            {
                Console.Error.WriteLine(stopping.IsCancellationRequested
                    ? "bench: interrupted before the cluster was ready"
                    : "bench: the cluster did not get ready (every node answering /status and a PUT succeeding) within 90 s");
                return 1;
            }
            info.WriteLine($"bench: cluster ready at {string.Join(", ", cluster.Endpoints)} (data in {cluster.DataDir})");
            return await RunAsync(options, cluster.Endpoints, cluster, info, terminal, stopping.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> RunAsync(BenchOptions options, IReadOnlyList<string> endpoints, BenchCluster? cluster,
        TextWriter info, bool terminal, CancellationToken ct)
    {
        string? mode = cluster is not null ? options.Mode : await ModeOfAsync(endpoints[0], ct);
        info.WriteLine($"bench: {options.Workers} workers, {options.WarmupSeconds:0.###} s warmup + {options.DurationSeconds:0.###} s, " +
                       $"{options.ValueSize} B values, {options.Keys} keys, read ratio {options.ReadRatio:0.###}");
        using var runner = new LoadRunner(options, endpoints);
        var progress = new Progress(info, terminal, runner, options);
        using var progressStop = new CancellationTokenSource();
        var showing = progress.RunAsync(progressStop.Token);

        // CPU is counted over the measured window only: sampled when the warmup ends and when the run ends.
        var sampling = SampleCpuAsync(options, cluster, ct);
        await runner.RunAsync(ct);
        var (serverCpu, benchCpu) = await sampling;
        var peakRss = cluster?.PeakRssMb();
        await progressStop.CancelAsync();
        await showing;

        var result = runner.Result(options) with
        {
            Mode = mode,
            ServerCpuSeconds = serverCpu,
            PeakRssMb = peakRss,
            BenchCpuSeconds = benchCpu,
        };
        Console.Out.WriteLine(result.ToJsonLine());
        Console.Out.Flush();
        return 0;
    }

    /// <summary>(server CPU seconds or null, bench CPU seconds) used between the end of the warmup and the end
    /// of the run (or an interruption).</summary>
    private static async Task<(double? Server, double Bench)> SampleCpuAsync(BenchOptions options, BenchCluster? cluster,
        CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        async Task Until(double seconds)
        {
            var wait = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                try { await Task.Delay(wait, ct); } catch (OperationCanceledException) { }
        }
        await Until(options.WarmupSeconds);
        double? server0 = cluster?.CpuSeconds();
        double bench0 = Environment.CpuUsage.TotalTime.TotalSeconds;
        await Until(options.WarmupSeconds + options.DurationSeconds);
        double? server1 = cluster?.CpuSeconds();
        double bench1 = Environment.CpuUsage.TotalTime.TotalSeconds;
        return (server1 - server0, bench1 - bench0);
    }

    /// <summary>The Paxos mode the first endpoint reports in /status, or null.</summary>
    private static async Task<string?> ModeOfAsync(string endpoint, CancellationToken ct)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
            await using var body = await http.GetStreamAsync($"{endpoint.TrimEnd('/')}/status", ct);
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            return doc.RootElement.TryGetProperty("mode", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException)
        {
            return null;
        }
    }
}
