using PaxosActors.Node;
using PaxosActors.Node.Commands;
using PaxosActors.Tools.Chaos;

namespace PaxosActors.Tools.Commands;

/// <summary>
/// <c>chaos</c>: real node processes on loopback under SIGKILL, SIGSTOP, network partitions and changes of the
/// acceptor set while clients write and read; every history checked for linearizability, and after healing, convergence
/// (applied slot, kv_digest, acceptor set) and service within a bound. Prints a summary; exits 1 if any run failed: an anomaly, a key the checker did not finish, or a
/// harness error (a fault not confirmed, too few client operations).
/// </summary>
public static class ChaosCommand
{
    private static string LogLevelOf(string level) =>
        level.ToUpperInvariant() is "DEBUG" or "INFO" or "WARNING" or "ERROR" ? level.ToUpperInvariant()
            : throw new UsageException($"--log-level is DEBUG, INFO, WARNING or ERROR, not {level}");

    /// <summary>The session the command line asks for; a <see cref="UsageException"/> saying what is wrong otherwise.</summary>
    public static ChaosOptions Parse(string[] args)
    {
        var cl = new CommandLine(args);
        cl.AllowOnly("duration", "seed", "nodes", "clients", "out", "mode", "run-seconds", "keys", "min-ops", "faults", "target",
            "stale-reads-node", "run-seed", "spares", "node-config", "log-level");
        int nodes = cl.GetInt("nodes", 3, 3, 5);
        if (nodes is not (3 or 5)) throw new UsageException("--nodes is 3 or 5");
        string mode = cl.Get("mode", "multi");
        if (mode is not ("multi" or "basic")) throw new UsageException("--mode is multi or basic");
        IReadOnlyList<string>? faults = null;
        if (cl.Get("faults") is { } list)
        {
            faults = list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();
            if (faults.Count == 0 || faults.Any(f => !FaultKinds.All.Contains(f)))
                throw new UsageException($"--faults is a comma-separated list of {string.Join(", ", FaultKinds.All)}");
        }
        return new ChaosOptions(
            TimeSpan.FromSeconds(cl.GetInt("duration", 60, 5)), cl.GetInt("seed", Environment.TickCount & 0xFFFF, 0),
            nodes, cl.GetInt("clients", 4, 1, 64), cl.Get("out", "./chaos-out"), mode,
            cl.GetInt("run-seconds", 60, 5, 3600), cl.GetInt("keys", 8, 1, 1000))
        {
            MinOps = cl.GetInt("min-ops", ChaosOptions.DefaultMinOps, 0),
            Faults = faults,
            Target = cl.Get("target") is null ? null : cl.GetInt("target", 1, 1, nodes),
            StaleReadNode = cl.Get("stale-reads-node") is null ? null : cl.GetInt("stale-reads-node", 1, 1, nodes),
            RunSeed = cl.Get("run-seed") is null ? null : cl.GetInt("run-seed", 1, 0),
            Spares = cl.Get("spares") is null ? null : cl.GetInt("spares", 0, 0, 2),
            NodeConfig = cl.GetExistingFile("node-config"),
            LogLevel = LogLevelOf(cl.Get("log-level", ChaosOptions.DefaultLogLevel)),
        };
    }

    public static async Task<int> RunAsync(string[] args)
    {
        var options = Parse(args);
        int nodes = options.Nodes;
        string mode = options.Mode;
        using var stopping = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };
        Console.WriteLine((options.RunSeed is { } run ? $"chaos: one run, seed {run} (replay)" : $"chaos: seed {options.Seed}") +
                          $", {options.Duration.TotalSeconds:0} s of faults, {nodes} nodes ({mode})" +
                          (options.SpareNodes > 0 ? $" and {options.SpareNodes} spare{(options.SpareNodes > 1 ? "s" : "")} outside the acceptor set" : "") +
                          (options.MembershipChanges ? ", membership changes on" : "") +
                          (options.NodeConfig is { } config ? $", every node reads {config}" : "") + ", " +
                          $"{options.Clients} clients, output in {Path.GetFullPath(options.Out)}");
        ChaosSummary summary;
        try
        {
            summary = await ChaosSession.RunAsync(options, Console.Out, stopping.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted");
            return 130;
        }
        Console.WriteLine();
        Console.Write(summary);
        return summary.Passed ? 0 : 1;
    }
}
