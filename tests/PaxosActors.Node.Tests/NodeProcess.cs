using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;

namespace PaxosActors.Node.Tests;

/// <summary>
/// One real <c>paxos-actors node</c> process on free loopback ports with its own temporary data directory.
/// Dispose kills it (and deletes the directory), whatever happened in the test.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private static readonly HashSet<int> Reserved = [8081, 8082, 8083, 4051, 4052, 4053];
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private bool _disposed;

    public int NodeId { get; }
    public int HttpPort { get; }
    public int RemotePort { get; }
    public string DataDir { get; }
    public HttpClient Http { get; }

    private NodeProcess(int nodeId, string acceptors, string? configText)
    {
        NodeId = nodeId;
        HttpPort = FreePort();
        RemotePort = FreePort();
        while (RemotePort == HttpPort) RemotePort = FreePort();
        DataDir = Path.Combine(Path.GetTempPath(), "paxos-node-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDir);

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDir,
        };
        start.ArgumentList.Add(NodeDll);
        start.ArgumentList.Add("node");
        if (configText is not null)
        {
            string file = Path.Combine(DataDir, "node.hocon");
            File.WriteAllText(file, configText);
            start.ArgumentList.Add("--config");
            start.ArgumentList.Add(file);
        }
        foreach (var (option, value) in new[]
                 {
                     ("--node-id", nodeId.ToString()), ("--http-port", HttpPort.ToString()),
                     ("--remote-port", RemotePort.ToString()), ("--host", "127.0.0.1"),
                     ("--seeds", $"127.0.0.1:{RemotePort}"), ("--acceptors", acceptors),
                     ("--data-dir", DataDir), ("--log-level", "WARNING"),
                 })
        {
            start.ArgumentList.Add(option);
            start.ArgumentList.Add(value);
        }
        // The node exits when our end of its stdin closes: it cannot outlive a crashed test host.
        start.ArgumentList.Add("--exit-with-stdin");
        // Some of the environment must not leak in (a developer's PAXOS_* settings).
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("PAXOS_", StringComparison.Ordinal)).ToList())
            start.Environment.Remove(name);

        _process = new Process { StartInfo = start };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>Starts a node; with the default acceptor set <c>1</c> it is a whole cluster (a quorum of one).</summary>
    public static NodeProcess Start(string acceptors = "1", string? configText = null, int nodeId = 1) =>
        new(nodeId, acceptors, configText);

    public bool HasExited => _process.HasExited;

    public int Pid => _process.Id;

    /// <summary>What the process printed so far (bounded), for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output) return _output.ToString();
        }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output)
        {
            if (_output.Length < 64 * 1024) _output.AppendLine(line);
        }
    }

    /// <summary>Waits (bounded) until GET /status answers 200.</summary>
    public async Task WaitForStatusAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (HasExited) throw new InvalidOperationException($"the node exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
                using var r = await Http.GetAsync("status", cts.Token);
                if (r.StatusCode == HttpStatusCode.OK) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no /status within {timeout}:\n{Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits (bounded) until the node takes a write: started, leader elected, quorum reached.</summary>
    public async Task WaitForWritesAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        await WaitForStatusAsync(timeout);
        while (true)
        {
            if (HasExited) throw new InvalidOperationException($"the node exited with {_process.ExitCode}:\n{Output}");
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                using var r = await Http.PutAsync("kv/__ready", new ByteArrayContent("ready"u8.ToArray()), cts.Token);
                if (r.StatusCode == HttpStatusCode.NoContent) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the node took no write within {timeout}:\n{Output}");
            await Task.Delay(100);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        _process.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>A free loopback port from the OS, never one of the ports a developer's local cluster uses.</summary>
    public static int FreePort()
    {
        while (true)
        {
            var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            if (!Reserved.Contains(port)) return port;
        }
    }

    /// <summary>
    /// paxos-actors.dll: <c>PAXOS_ACTORS_DLL</c> if set, else the Node project's bin/&lt;Configuration&gt;/net10.0 as
    /// recorded at build time, else found by walking up from the test assembly to the repository.
    /// </summary>
    public static string NodeDll { get; } = FindNodeDll();

    private static string FindNodeDll()
    {
        if (Environment.GetEnvironmentVariable("PAXOS_ACTORS_DLL") is { Length: > 0 } set)
            return File.Exists(set) ? set : throw new FileNotFoundException($"PAXOS_ACTORS_DLL={set}: no such file");
        var assembly = typeof(NodeProcess).Assembly;
        var candidates = new List<string>();
        if (assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "PaxosActorsNodeDll")?.Value is { } recorded)
            candidates.Add(Path.GetFullPath(recorded));
        string configuration = assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "PaxosActors.sln"))) continue;
            foreach (var c in new[] { configuration, "Debug", "Release" }.Distinct())
                candidates.Add(Path.Combine(dir.FullName, "src", "PaxosActors.Node", "bin", c, "net10.0", "paxos-actors.dll"));
            break;
        }
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "paxos-actors.dll"));
        return candidates.FirstOrDefault(File.Exists)
               ?? throw new FileNotFoundException("paxos-actors.dll not found; looked at:\n" + string.Join("\n", candidates));
    }
}
