using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using PaxosActors.Node.Launch;
using Xunit.Abstractions;

namespace AuditRole.Tests;

/// <summary>
/// What a role author does with this sample, end to end: the role's build output in a roles folder, the stock executable's
/// <c>local</c> with <c>--roles-dir</c>, <c>--roles audit</c>, <c>--config</c> and <c>--log-level INFO</c>, three node
/// processes, the route answering on every node, the counts right across a SIGKILL and restart of a node.
/// </summary>
public sealed class AuditRoleLocalSpec(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "paxos-audit-sample-" + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();
    private Process? _local;

    public void Dispose()
    {
        if (_local is { HasExited: false } p)
        {
            Signal(p.Id, "TERM");
            if (!p.WaitForExit(20_000)) p.Kill(entireProcessTree: true);
        }
        _local?.Dispose();
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Fact]
    public async Task The_audit_role_runs_under_local_from_a_roles_folder_and_counts_right_across_a_node_restart()
    {
        // The roles folder as `dotnet publish -o roles/audit` leaves it: the role, and copies of the node's own assemblies
        // (which the node must ignore in favour of its own).
        string roles = Path.Combine(_dir, "roles", "audit");
        Directory.CreateDirectory(roles);
        string built = Path.GetDirectoryName(typeof(Samples.Audit.AuditRole).Assembly.Location)!;
        foreach (string file in new[] { "AuditRole.dll", "AuditRole.deps.json", "PaxosActors.dll", "Akka.dll" })
            if (File.Exists(Path.Combine(built, file))) File.Copy(Path.Combine(built, file), Path.Combine(roles, file));
        string config = Path.Combine(_dir, "extra.conf");
        // Snapshots every few slots, so the restarted node recovers through a snapshot and a replay.
        File.WriteAllText(config, "paxos.snapshot-every = 8\npaxos.audit.recent = 5\n");

        int http = ConsecutiveFreePorts(3, new HashSet<int>());
        int remote = ConsecutiveFreePorts(3, Enumerable.Range(http, 3).ToHashSet());
        var urls = Enumerable.Range(0, 3).Select(i => $"http://127.0.0.1:{http + i}").ToList();
        Start("local", "--nodes", "3", "--http-port", $"{http}", "--remote-port", $"{remote}", "--data-dir", Path.Combine(_dir, "data"),
            "--roles-dir", Path.Combine(_dir, "roles"), "--roles", "audit", "--config", config, "--log-level", "INFO");
        await Until(() => Task.FromResult(Output.Contains("cluster ready")), TimeSpan.FromSeconds(120), "local reports the cluster ready");

        int writes = 0;
        for (int i = 0; i < 20; i++)
        {
            await Until(async () => (await _http.PutAsync($"{urls[i % 3]}/kv/key-{i}", new StringContent($"v{i}"))).StatusCode == HttpStatusCode.NoContent,
                TimeSpan.FromSeconds(30), $"PUT key-{i}");
            writes++;
        }
        foreach (string url in urls) await UntilKvCount(url, writes);

        // /status carries the role's own field.
        using (var status = JsonDocument.Parse(await _http.GetStringAsync($"{urls[0]}/status")))
            Assert.Equal(writes, status.RootElement.GetProperty("role_status").GetProperty("audit").GetProperty("total").GetInt64());

        // SIGKILL node 2; local restarts it, and it recovers its snapshot and journal: the counts are what they were.
        int pid = await Pid(urls[1]);
        Process.GetProcessById(pid).Kill();
        await Until(async () => await PidOrNull(urls[1]) is { } now && now != pid, TimeSpan.FromSeconds(90), "node 2 restarted by local");
        var recovered = await UntilKvCount(urls[1], writes);
        var seen = recovered.RootElement.GetProperty("seen");
        Assert.True(seen.GetProperty("replayed").GetInt64() + seen.GetProperty("installed").GetInt64() > 0,
            $"the restarted node's applied stream showed no recovery: {recovered.RootElement}");

        // And it keeps counting, once per command, on every node.
        await Until(async () => (await _http.PutAsync($"{urls[1]}/kv/after", new StringContent("x"))).StatusCode == HttpStatusCode.NoContent,
            TimeSpan.FromSeconds(60), "PUT through the restarted node");
        writes++;
        foreach (string url in urls) await UntilKvCount(url, writes);

        // A role author sees the role's own log lines at INFO, and where its route is.
        Assert.Contains("audit: following the applied stream", Output);
        Assert.Contains($"role audit serves {urls[0]}/roles/audit", Output);
    }

    private async Task<JsonDocument> UntilKvCount(string url, long expected)
    {
        JsonDocument? last = null;
        await Until(async () =>
        {
            var response = await _http.GetAsync($"{url}/roles/audit");
            if (response.StatusCode != HttpStatusCode.OK) return false;
            last = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var counts = last.RootElement.GetProperty("counts");
            return counts.TryGetProperty("kv", out var kv) && kv.GetInt64() == expected;
        }, TimeSpan.FromSeconds(60), $"{url}/roles/audit counts {expected} kv commands");
        output.WriteLine($"{url}/roles/audit: {last!.RootElement}");
        Assert.Equal(expected, last.RootElement.GetProperty("total").GetInt64());
        return last;
    }

    private async Task<int> Pid(string url) =>
        await PidOrNull(url) ?? throw new InvalidOperationException($"{url}/status does not answer");

    private async Task<int?> PidOrNull(string url)
    {
        try
        {
            using var doc = JsonDocument.Parse(await _http.GetStringAsync($"{url}/status"));
            return doc.RootElement.GetProperty("pid").GetInt32();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException)
        {
            return null;
        }
    }

    private void Start(params string[] args)
    {
        var psi = NodeExecutable.StartInfo(args);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.WorkingDirectory = _dir;
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("PAXOS_", StringComparison.Ordinal)).ToList()) psi.Environment.Remove(key);
        _local = new Process { StartInfo = psi };
        _local.OutputDataReceived += (_, e) => Record(e.Data);
        _local.ErrorDataReceived += (_, e) => Record(e.Data);
        _local.Start();
        _local.BeginOutputReadLine();
        _local.BeginErrorReadLine();
    }

    private void Record(string? line)
    {
        if (line is null) return;
        lock (_lock) _output.AppendLine(line);
    }

    private string Output
    {
        get
        {
            lock (_lock) return _output.ToString();
        }
    }

    private async Task Until(Func<Task<bool>> condition, TimeSpan limit, string what)
    {
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (_local is { HasExited: true } p) throw new Xunit.Sdk.XunitException($"local exited with code {p.ExitCode} while waiting for: {what}\n{Tail()}");
            try
            {
                if (await condition()) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
            {
                // not up yet
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{limit.TotalSeconds:0} s without: {what}\n{Tail()}");
            await Task.Delay(200);
        }
    }

    private string Tail() => string.Join("\n", Output.Split('\n').TakeLast(60));

    /// <summary>A run of <paramref name="count"/> free loopback ports (local numbers its nodes' ports up from one).</summary>
    private static int ConsecutiveFreePorts(int count, IReadOnlySet<int> taken)
    {
        for (int attempt = 0; attempt < 200; attempt++)
        {
            int first = FreePorts.Take(1)[0];
            var run = Enumerable.Range(first, count).ToList();
            if (run[^1] < 65000 && !run.Any(FreePorts.LocalClusterPorts.Contains) && !run.Any(taken.Contains) && !run.Skip(1).Any(p => PortCheck.IsInUse(IPAddress.Loopback, p)))
                return first;
        }
        throw new InvalidOperationException($"no run of {count} free ports");
    }

    private static void Signal(int pid, string signal)
    {
        try
        {
            using var kill = Process.Start("kill", $"-{signal} {pid}");
            kill.WaitForExit(5000);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
        }
    }
}
