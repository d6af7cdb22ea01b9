using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace PaxosActors.Node.Commands;

/// <summary>
/// <c>local</c>: a cluster of N node processes on loopback (HTTP 8081.., remoting 4051..), one SQLite file
/// each under the data directory. Each node is this program's own <c>node</c> command in a child process,
/// so killing one (say with <c>kill -9</c>) is a real crash; the launcher restarts it and it recovers from
/// its journal. Ctrl-C or SIGTERM stops them all.
/// </summary>
public static class LocalCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args, "no-restart");
        cl.AllowOnly("nodes", "data-dir", "mode", "http-port", "remote-port", "log-level", "no-restart");
        int nodes = cl.GetInt("nodes", 3, 1, 9);
        string dataDir = Path.GetFullPath(cl.Get("data-dir", "./data"));
        string mode = cl.Get("mode", "multi");
        if (mode is not ("multi" or "basic")) throw new UsageException("--mode is multi or basic");
        int httpBase = cl.GetInt("http-port", 8081, 1, 65000);
        int remoteBase = cl.GetInt("remote-port", 4051, 1, 65000);
        string logLevel = cl.Get("log-level", "WARNING");
        bool restart = !cl.Has("no-restart");

        var ids = Enumerable.Range(1, nodes).ToList();
        string seeds = string.Join(",", ids.Take(3).Select(i => $"127.0.0.1:{remoteBase + i - 1}"));
        string acceptors = string.Join(",", ids);
        using var stopping = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };

        var children = ids.Select(id => new Child(id, [
            "node", "--node-id", $"{id}", "--http-port", $"{httpBase + id - 1}", "--remote-port", $"{remoteBase + id - 1}",
            "--seeds", seeds, "--acceptors", acceptors, "--data-dir", dataDir, "--mode", mode, "--log-level", logLevel,
            "--exit-with-stdin",
        ])).ToList();
        Console.WriteLine($"starting {nodes} nodes ({mode}-Paxos), data in {dataDir}");
        foreach (var c in children) c.Start();

        var endpoints = ids.Select(i => $"http://127.0.0.1:{httpBase + i - 1}").ToList();
        var ready = WaitReadyAsync(endpoints, stopping.Token);
        var watch = Task.WhenAll(children.Select(c => c.KeepAliveAsync(restart, stopping.Token)));
        if (await Task.WhenAny(ready, watch) == ready && await ready)
        {
            Console.WriteLine($"""

                cluster ready: {string.Join(", ", endpoints)}
                  curl -X PUT --data hello {endpoints[0]}/kv/greeting
                  curl {endpoints[^1]}/kv/greeting
                  curl {endpoints[0]}/status
                Ctrl-C stops the cluster; the data stays in {dataDir}.

                """);
        }
        await watch;
        Console.WriteLine("stopping the nodes");
        await Task.WhenAll(children.Select(c => c.StopAsync()));
        return 0;
    }

    private static async Task<bool> WaitReadyAsync(List<string> endpoints, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
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

    /// <summary>One node process: started, its output prefixed, restarted if it dies on its own.</summary>
    private sealed class Child(int id, string[] args)
    {
        private Process? _process;

        public void Start()
        {
            var psi = new ProcessStartInfo
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            string self = Environment.ProcessPath!;
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(Assembly.GetExecutingAssembly().Location);
            psi.FileName = self;
            foreach (var a in args) psi.ArgumentList.Add(a);
            var p = new Process { StartInfo = psi };
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) Console.WriteLine($"[node {id}] {e.Data}"); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"[node {id}] {e.Data}"); };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
        }

        public async Task KeepAliveAsync(bool restart, CancellationToken ct)
        {
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
                Console.Error.WriteLine($"[node {id}] exited with code {_process.ExitCode}{(restart ? "; restarting it in 1 s" : "")}");
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
    }
}
