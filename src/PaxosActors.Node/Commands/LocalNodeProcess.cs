using System.Diagnostics;
using System.Reflection;

namespace PaxosActors.Node.Commands;

/// <summary>
/// One node of a loopback cluster as a child process running this program's own <c>node</c> command:
/// started, its output prefixed, restarted if it dies on its own, stopped by closing its stdin.
/// Used by <c>local</c> and <c>bench</c>.
/// </summary>
public sealed class LocalNodeProcess(int id, string[] args, TextWriter? stdout = null, TextWriter? stderr = null)
{
    private Process? _process;

    public int Id => id;

    /// <summary>The running process, or null before <see cref="Start"/>.</summary>
    public Process? Process => _process;

    /// <summary>How to run this program again as a child with <paramref name="args"/>, all three standard streams
    /// redirected: through this program's own apphost when that is what runs, else <c>dotnet</c> with this
    /// assembly (under <c>dotnet paxos-actors.dll</c>, or inside a test host).</summary>
    public static ProcessStartInfo SelfStartInfo(IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        string assembly = Assembly.GetExecutingAssembly().Location;
        string? self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == Path.GetFileNameWithoutExtension(assembly))
            psi.FileName = self;
        else
        {
            psi.FileName = self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
            psi.ArgumentList.Add(assembly);
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>The <c>node</c> command line of node <paramref name="id"/> in a loopback cluster.</summary>
    public static string[] NodeArgs(int id, int httpPort, int remotePort, string seeds, string acceptors, string dataDir,
        string mode, string logLevel) =>
    [
        "node", "--node-id", $"{id}", "--http-port", $"{httpPort}", "--remote-port", $"{remotePort}",
        "--seeds", seeds, "--acceptors", acceptors, "--data-dir", dataDir, "--mode", mode, "--log-level", logLevel,
        "--exit-with-stdin",
    ];

    public void Start()
    {
        var p = new Process { StartInfo = SelfStartInfo(args) };
        var output = stdout ?? Console.Out;
        var errors = stderr ?? Console.Error;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) output.WriteLine($"[node {id}] {e.Data}"); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) errors.WriteLine($"[node {id}] {e.Data}"); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
    }

    public async Task KeepAliveAsync(bool restart, CancellationToken ct)
    {
        var errors = stderr ?? Console.Error;
        while (true)
        {
            try
            {
                await _process!.WaitForExitAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            errors.WriteLine($"[node {id}] exited with code {_process.ExitCode}{(restart ? "; restarting it in 1 s" : "")}");
            if (!restart) return;
            try { await Task.Delay(1000, ct); } catch (OperationCanceledException) { return; }
            Start();
        }
    }

    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } p) return;
        p.StandardInput.Close(); // the node stops gracefully when its stdin closes
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Waits until every endpoint answers <c>GET /status</c> with 2xx; false on cancellation or after
    /// <paramref name="limit"/> (60 s by default).</summary>
    public static async Task<bool> WaitReadyAsync(IReadOnlyList<string> endpoints, CancellationToken ct, TimeSpan? limit = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(60));
        foreach (string ep in endpoints)
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    using var resp = await http.GetAsync($"{ep}/status", ct);
                    if (resp.IsSuccessStatusCode) break;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                if (DateTime.UtcNow > deadline) return false;
                await Task.Delay(200, ct).ContinueWith(_ => { });
            }
        }
        return !ct.IsCancellationRequested;
    }
}
