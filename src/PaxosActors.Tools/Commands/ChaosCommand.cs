using PaxosActors.Node;
using PaxosActors.Node.Commands;
using PaxosActors.Tools.Chaos;

namespace PaxosActors.Tools.Commands;

/// <summary>
/// <c>chaos</c>: real node processes on loopback under SIGKILL, SIGSTOP and network partitions while clients
/// write and read; every history checked for linearizability, and after healing, convergence and service
/// within a bound. Prints a summary; exits 1 on any anomaly.
/// </summary>
public static class ChaosCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args);
        cl.AllowOnly("duration", "seed", "nodes", "clients", "out", "mode", "run-seconds", "keys");
        int nodes = cl.GetInt("nodes", 3, 3, 5);
        if (nodes is not (3 or 5)) throw new UsageException("--nodes is 3 or 5");
        string mode = cl.Get("mode", "multi");
        if (mode is not ("multi" or "basic")) throw new UsageException("--mode is multi or basic");
        var options = new ChaosOptions(
            TimeSpan.FromSeconds(cl.GetInt("duration", 60, 5)), cl.GetInt("seed", Environment.TickCount & 0xFFFF, 0),
            nodes, cl.GetInt("clients", 4, 1, 64), cl.Get("out", "./chaos-out"), mode,
            cl.GetInt("run-seconds", 60, 5, 3600), cl.GetInt("keys", 8, 1, 1000));
        using var stopping = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stopping.Cancel(); };
        Console.WriteLine($"chaos: seed {options.Seed}, {options.Duration.TotalSeconds:0} s of faults, {nodes} nodes ({mode}), " +
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
        return summary.Anomalies == 0 ? 0 : 1;
    }
}
