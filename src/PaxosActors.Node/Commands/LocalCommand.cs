using System.Runtime.InteropServices;
using PaxosActors.Node.Launch;

namespace PaxosActors.Node.Commands;

/// <summary>
/// <c>local</c>: a cluster of N node processes on loopback (HTTP 8081.., remoting 4051..), one SQLite file
/// each under the data directory. Each node is this program's own <c>node</c> command in a child process
/// (<see cref="NodeProcess"/>), so killing one (say with <c>kill -9</c>) is a real crash; the launcher restarts it
/// and it recovers from its journal. Ctrl-C or SIGTERM stops them all. It refuses to start when a port it needs is
/// taken (a cluster already running there), and a node that exits before the cluster is ready fails the start.
/// </summary>
public static class LocalCommand
{
    private static readonly TimeSpan ReadyLimit = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args, "no-restart", "secure", "redirect-writes");
        cl.AllowOnly("nodes", "data-dir", "mode", "http-port", "remote-port", "log-level", "no-restart", "config", "roles", "roles-dir", "secure",
            "redirect-writes");
        int nodes = cl.GetInt("nodes", 3, 1, 9);
        string dataDir = Path.GetFullPath(cl.Get("data-dir", "./data"));
        string mode = cl.Get("mode", "multi");
        if (mode is not ("multi" or "basic")) throw new UsageException("--mode is multi or basic");
        int httpBase = cl.GetInt("http-port", 8081, 1, 65000);
        int remoteBase = cl.GetInt("remote-port", 4051, 1, 65000);
        string logLevel = cl.Get("log-level", "WARNING");
        bool restart = !cl.Has("no-restart");
        var (nodeArgs, extraConfig) = RoleArgs(cl);

        var ids = Enumerable.Range(1, nodes).ToList();
        var security = cl.Has("secure") ? DevSecurity.Prepare(dataDir, ids) : null;
        var launches = NodeLaunch.LoopbackCluster(ids.Select(i => httpBase + i - 1).ToList(), ids.Select(i => remoteBase + i - 1).ToList(),
            dataDir, mode, logLevel).Select(l => l with
        {
            ExtraArgs = [.. NodeExtraConfig(l.NodeId, extraConfig, security), .. nodeArgs],
            CaFile = security?.CaFile,
            Token = security?.AdminToken,
        }).ToList();
        try
        {
            foreach (var launch in launches) NodeProcess.CheckPorts(launch);
        }
        catch (PortInUseException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        using var stopping = new CancellationTokenSource();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };

        var output = NodeOutputLine.ToWriters(Console.Out, Console.Error);
        var children = launches.Select(l => new NodeProcess(l, output, keepLines: 100)).ToList();
        try
        {
            Console.WriteLine($"starting {nodes} nodes ({mode}-Paxos), data in {dataDir}");
            foreach (var c in children) c.Start();

            var endpoints = children.Select(c => c.Url).ToList();
            var failure = await WaitReadyAsync(children, stopping.Token);
            if (stopping.IsCancellationRequested) return 0;
            if (failure is null && security is not null)
            {
                string curl = $"curl --cacert {security.CaFile} -H \"Authorization: Bearer $(cat {security.AdminTokenFile})\"";
                Console.WriteLine($"""

                    cluster ready, over HTTPS with bearer tokens, remoting over mutual TLS: {string.Join(", ", endpoints)}
                      {curl} -X PUT --data hello {endpoints[0]}/kv/greeting
                      {curl} {endpoints[^1]}/kv/greeting
                      {curl} {endpoints[0]}/status
                    The development CA is {security.CaFile} (its key beside it), the nodes' certificates and keys are in
                    {security.Dir}, the admin token is in {security.AdminTokenFile} and its hash in {security.TokensFile}
                    (add lines there for more tokens: `paxos-actors token --scope read`). Ctrl-C stops the cluster; the data
                    and these files stay in {dataDir}.

                    """);
            }
            else if (failure is null)
            {
                Console.WriteLine($"""

                    cluster ready: {string.Join(", ", endpoints)}
                      curl -X PUT --data hello {endpoints[0]}/kv/greeting
                      curl {endpoints[^1]}/kv/greeting
                      curl {endpoints[0]}/status
                    Ctrl-C stops the cluster; the data stays in {dataDir}.

                    """);
            }
            else if (children.Any(c => c.Exited.IsCompleted))
            {
                // A node that dies before it ever served is misconfigured or blocked; restarting it would not help.
                Console.Error.WriteLine($"error: {failure.Reason}; stopping the cluster");
                return 1;
            }
            else
            {
                Console.Error.WriteLine($"warning: {failure.Reason}; the nodes keep running");
            }
            await Task.WhenAll(children.Select(c => c.KeepAliveAsync(restart, stopping.Token)));
            return 0;
        }
        catch (PortInUseException e) // taken between the check and the start
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        finally
        {
            Console.WriteLine("stopping the nodes");
            await Task.WhenAll(children.Select(c => c.StopAsync()));
            foreach (var c in children) c.Dispose();
        }
    }

    /// <summary>Node <paramref name="nodeId"/>'s <c>--extra-config</c>: the file of <c>--config</c> as it is, or with <c>--secure</c> a file of
    /// the node's own that holds it followed by the node's TLS and authentication settings.</summary>
    private static IReadOnlyList<string> NodeExtraConfig(int nodeId, string? extraConfig, DevSecurity? security)
    {
        if (security is null) return extraConfig is null ? [] : ["--extra-config", extraConfig];
        string file = security.NodeConfigFile(nodeId);
        if (extraConfig is not null) File.WriteAllText(file, File.ReadAllText(extraConfig) + "\n" + security.NodeConfig(nodeId));
        return ["--extra-config", file];
    }

    /// <summary>What every node gets besides its own ports: <c>--config FILE</c> (HOCON merged over each node's configuration,
    /// returned apart), <c>--roles a,b</c> (more roles on every node) and <c>--roles-dir DIR</c> (where their assemblies are),
    /// checked here so a typo fails before any node starts.</summary>
    private static (IReadOnlyList<string> Args, string? ExtraConfig) RoleArgs(CommandLine cl)
    {
        var args = new List<string>();
        string? extraConfig = null;
        if (cl.Get("config") is { } file)
        {
            string path = Path.GetFullPath(file);
            if (!File.Exists(path)) throw new UsageException($"--config {file}: no such file");
            try
            {
                Akka.Configuration.ConfigurationFactory.ParseString(PaxosActors.Configuration.HoconEnvironment.Resolve(File.ReadAllText(path)));
            }
            catch (Exception e)
            {
                throw new UsageException($"--config {file} does not parse: {e.Message}");
            }
            extraConfig = path;
        }
        if (cl.Get("roles") is { } roles) args.AddRange(["--roles", roles]);
        if (cl.Has("redirect-writes")) args.Add("--redirect-writes");
        if (cl.Get("roles-dir") is { } dir)
        {
            string path = Path.GetFullPath(dir);
            if (!Directory.Exists(path)) throw new UsageException($"--roles-dir {dir}: no such folder");
            args.AddRange(["--roles-dir", path]);
        }
        return (args, extraConfig);
    }

    /// <summary>Waits until every node answers <c>/status</c> as itself; the first node that exits or times out ends the
    /// wait. Null when all are ready (or <paramref name="ct"/> was cancelled), else what went wrong.</summary>
    private static async Task<NodeNotReadyException?> WaitReadyAsync(IReadOnlyList<NodeProcess> children, CancellationToken ct)
    {
        using var startup = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var waits = children.Select(async c =>
        {
            try
            {
                await c.WaitReadyAsync(ReadyLimit, startup.Token);
            }
            catch (NodeNotReadyException)
            {
                await startup.CancelAsync();
                throw;
            }
        }).ToList();
        try
        {
            await Task.WhenAll(waits);
        }
        catch (Exception) when (waits.Any(t => t.IsFaulted) || ct.IsCancellationRequested)
        {
        }
        return waits.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException).OfType<NodeNotReadyException>().FirstOrDefault();
    }
}
