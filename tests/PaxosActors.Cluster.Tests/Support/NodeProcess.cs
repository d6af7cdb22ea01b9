using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;

namespace PaxosActors.Cluster.Tests.Support;

/// <summary>
/// One <c>dotnet paxos-actors.dll node ...</c> child process. Its output is kept for the test's report;
/// <see cref="Kill"/> is a SIGKILL, a real crash. Disposing kills it if it is still running.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly string[] _args;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public NodeProcess(int id, int httpPort, string[] args)
    {
        Id = id;
        HttpPort = httpPort;
        _args = args;
    }

    public int Id { get; }
    public int HttpPort { get; }
    public string Url => $"http://127.0.0.1:{HttpPort}";
    public int Starts { get; private set; }
    public bool Running => _process is { HasExited: false };

    /// <summary>The node's stdout and stderr so far, each line tagged with the node and its incarnation.</summary>
    public IEnumerable<string> Output => _output;

    /// <summary>The executable under test: the Node project's build output (built through the project reference).</summary>
    public static string NodeDll { get; } = FindNodeDll();

    public void Start()
    {
        if (Running) throw new InvalidOperationException($"node {Id} is running");
        var psi = new ProcessStartInfo
        {
            FileName = DotnetHost(),
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(NodeDll);
        foreach (var a in _args) psi.ArgumentList.Add(a);
        // The built-in node.hocon reads PAXOS_* variables; the test's options must be the only input.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("PAXOS_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        int incarnation = ++Starts;
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue($"[node {Id}#{incarnation}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue($"[node {Id}#{incarnation} err] {e.Data}"); };
        p.EnableRaisingEvents = true;
        p.Exited += (_, _) => _output.Enqueue($"[node {Id}#{incarnation}] exited with code {p.ExitCode} at {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        p.Start();
        _output.Enqueue($"[node {Id}#{incarnation}] started as pid {p.Id} at {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
    }

    /// <summary>SIGKILL: no shutdown, no leaving the cluster, whatever was not fsynced is lost.</summary>
    public void Kill()
    {
        if (_process is not { } p) return;
        try
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // already gone
        _output.Enqueue($"[node {Id}] killed");
    }

    public void Dispose()
    {
        Kill();
        _process?.Dispose();
        _process = null;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    private static string FindNodeDll()
    {
        string configuration = typeof(NodeProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var candidates = new List<string>();
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PaxosActors.sln")))
            {
                candidates.Add(Path.Combine(dir.FullName, "src", "PaxosActors.Node", "bin", configuration, "net10.0", "paxos-actors.dll"));
                break;
            }
        }
        // The project reference also copies the executable next to the tests.
        candidates.Add(Path.Combine(AppContext.BaseDirectory, "paxos-actors.dll"));
        return candidates.FirstOrDefault(c => File.Exists(c) && File.Exists(Path.ChangeExtension(c, ".runtimeconfig.json")))
               ?? throw new FileNotFoundException($"paxos-actors.dll not found; looked at {string.Join(", ", candidates)}");
    }
}
