using System.Diagnostics;
using System.Text.Json;
using PaxosActors.Node;
using PaxosActors.Tools.Bench;

namespace PaxosActors.Bench.Tests;

public class BenchOptionsTests
{
    [Fact]
    public void Defaults()
    {
        var o = BenchOptions.Parse([]);
        Assert.True(o.StartsCluster);
        Assert.Equal(3, o.Nodes);
        Assert.Equal("multi", o.Mode);
        Assert.Equal(16, o.Workers);
        Assert.Equal(10, o.DurationSeconds);
        Assert.Equal(2, o.WarmupSeconds);
        Assert.Equal(100, o.ValueSize);
        Assert.Equal(1000, o.Keys);
        Assert.Equal(0, o.ReadRatio);
        Assert.Equal(5000, o.TimeoutMs);
        Assert.False(o.JsonOnly);
    }

    [Fact]
    public void EveryOption()
    {
        var o = BenchOptions.Parse([
            "--endpoints", "http://127.0.0.1:8081/, http://127.0.0.1:8082", "--workers", "4", "--duration", "2.5",
            "--warmup", "0", "--value-size", "10", "--keys", "7", "--read-ratio", "0.25", "--timeout-ms", "100",
            "--seed", "42", "--json-only",
        ]);
        Assert.False(o.StartsCluster);
        Assert.Equal(["http://127.0.0.1:8081", "http://127.0.0.1:8082"], o.Endpoints);
        Assert.Equal((4, 2.5, 0.0, 10, 7, 0.25, 100, 42, true),
            (o.Workers, o.DurationSeconds, o.WarmupSeconds, o.ValueSize, o.Keys, o.ReadRatio, o.TimeoutMs, o.Seed, o.JsonOnly));
        var c = BenchOptions.Parse(["--nodes", "1", "--mode", "basic"]);
        Assert.Equal((1, "basic"), (c.Nodes, c.Mode));
    }

    [Theory]
    [InlineData("--workers", "0")]
    [InlineData("--read-ratio", "1.5")]
    [InlineData("--duration", "abc")]
    [InlineData("--mode", "fast")]
    [InlineData("--endpoints", "localhost:8081")]
    [InlineData("--bogus", "1")]
    public void RejectsBadValues(string option, string value) =>
        Assert.Throws<UsageException>(() => BenchOptions.Parse([option, value]));

    [Fact]
    public void EndpointsDoNotGoWithNodes() =>
        Assert.Throws<UsageException>(() => BenchOptions.Parse(["--endpoints", "http://127.0.0.1:8081", "--nodes", "3"]));

    [Fact]
    public void NodeConfigIsAFileThatStartedNodesRead()
    {
        string file = Path.GetTempFileName();
        try
        {
            Assert.Equal(Path.GetFullPath(file), BenchOptions.Parse(["--node-config", file]).NodeConfig);
            Assert.Null(BenchOptions.Parse([]).NodeConfig);
            Assert.Throws<UsageException>(() => BenchOptions.Parse(["--node-config", file + ".missing"]));
            Assert.Throws<UsageException>(() => BenchOptions.Parse(["--endpoints", "http://127.0.0.1:8081", "--node-config", file]));
        }
        finally { File.Delete(file); }
    }
}

public class BenchResultTests
{
    [Fact]
    public void PercentilesOfKnownLatencies()
    {
        var h = BenchResult.NewHistogram();
        for (long ms = 1; ms <= 1000; ms++) h.RecordValue(ms * 1000); // 1..1000 ms, in µs
        var r = new BenchResult { Options = BenchOptions.Parse([]) }.WithLatencies(h);
        // Three significant digits: within 0.1 %.
        Assert.InRange(r.P50Ms, 499.5, 500.5);
        Assert.InRange(r.P90Ms, 899.1, 900.9);
        Assert.InRange(r.P99Ms, 989.0, 991.0);
        Assert.InRange(r.P999Ms, 998.0, 1000.0);
        Assert.InRange(r.MaxMs, 999.0, 1001.0);
    }

    [Fact]
    public void EmptyHistogramGivesZeros()
    {
        var r = new BenchResult { Options = BenchOptions.Parse([]) }.WithLatencies(BenchResult.NewHistogram());
        Assert.Equal((0.0, 0.0, 0.0), (r.P50Ms, r.P99Ms, r.MaxMs));
    }

    [Fact]
    public void JsonLineHasEveryField()
    {
        var r = new BenchResult
        {
            Options = BenchOptions.Parse(["--nodes", "3", "--workers", "2", "--duration", "4"]),
            Ops = 400, Errors = 1, Reads = 100, Writes = 300, DurationSeconds = 4, Mode = "multi",
            ServerCpuSeconds = 1.234, PeakRssMb = [100.04, null, 120], BenchCpuSeconds = 0.5,
        };
        string line = r.ToJsonLine();
        Assert.DoesNotContain('\n', line);
        var j = JsonDocument.Parse(line).RootElement;
        foreach (var f in new[]
                 {
                     "ops", "errors", "reads", "writes", "ops_per_s", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms",
                     "workers", "duration_s", "value_size", "keys", "read_ratio", "mode", "nodes", "server_cpu_s",
                     "peak_rss_mb", "bench_cpu_s",
                 })
            Assert.True(j.TryGetProperty(f, out _), $"missing {f}");
        Assert.Equal(100.0, j.GetProperty("ops_per_s").GetDouble());
        Assert.Equal(3, j.GetProperty("nodes").GetInt32());
        Assert.Equal(1.23, j.GetProperty("server_cpu_s").GetDouble());
        Assert.Equal(JsonValueKind.Null, j.GetProperty("peak_rss_mb")[1].ValueKind);
        Assert.False(j.TryGetProperty("endpoints", out _));

        var given = (r with { Options = BenchOptions.Parse(["--endpoints", "http://a:1,http://b:2"]), ServerCpuSeconds = null, PeakRssMb = null })
            .ToJsonLine();
        var g = JsonDocument.Parse(given).RootElement;
        Assert.Equal(2, g.GetProperty("endpoints").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, g.GetProperty("server_cpu_s").ValueKind);
        Assert.False(g.TryGetProperty("nodes", out _));
    }
}

public class ProcStatsTests
{
    [Fact]
    public void ParsesStatAndStatus()
    {
        // The command name may hold spaces and parentheses.
        const string stat = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000 200";
        Assert.Equal(300, ProcStats.ParseStatCpuTicks(stat));
        Assert.Equal(204800, ProcStats.ParseStatusKb("Name:\tx\nVmPeak:\t  1 kB\nVmHWM:\t  204800 kB\nVmRSS:\t 5 kB\n", "VmHWM"));
    }

    [Fact]
    public void ReadsThisProcess()
    {
        int pid = Environment.ProcessId;
        Assert.True(ProcStats.CpuSeconds(pid) > 0);
        Assert.True(ProcStats.PeakRssMb(pid) > 1);
    }
}

public class BenchEndToEndTests
{
    [Fact(Timeout = 120_000)]
    public async Task BenchAgainstASelfStartedOneNodeCluster()
    {
        string dll = typeof(BenchOptions).Assembly.Location; // paxos-tools.dll, with its runtimeconfig and paxos-actors.dll beside it
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { dll, "bench", "--nodes", "1", "--duration", "2", "--warmup", "0.5", "--workers", "2", "--json-only" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(110));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        string output = await stdout, log = await stderr;
        Assert.True(p.ExitCode == 0, $"exit code {p.ExitCode}\n{log}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"stdout should be the JSON line alone:\n{output}");
        var j = JsonDocument.Parse(lines[0]).RootElement;
        Assert.True(j.GetProperty("ops").GetInt64() > 0, lines[0]);
        Assert.Equal(0, j.GetProperty("errors").GetInt64());
        Assert.Equal(1, j.GetProperty("nodes").GetInt32());
        Assert.Equal(JsonValueKind.Number, j.GetProperty("server_cpu_s").ValueKind);
        Assert.Equal(1, j.GetProperty("peak_rss_mb").GetArrayLength());
    }
}
