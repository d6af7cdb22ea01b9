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

        var children = ids.Select(id => new LocalNodeProcess(id, LocalNodeProcess.NodeArgs(
            id, httpBase + id - 1, remoteBase + id - 1, seeds, acceptors, dataDir, mode, logLevel))).ToList();
        Console.WriteLine($"starting {nodes} nodes ({mode}-Paxos), data in {dataDir}");
        foreach (var c in children) c.Start();

        var endpoints = ids.Select(i => $"http://127.0.0.1:{httpBase + i - 1}").ToList();
        var ready = LocalNodeProcess.WaitReadyAsync(endpoints, stopping.Token);
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
}
