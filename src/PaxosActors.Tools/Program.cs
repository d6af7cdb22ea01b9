using PaxosActors.Node;
using PaxosActors.Tools.Commands;

namespace PaxosActors.Tools;

/// <summary>The paxos-tools executable: what tests and measures a cluster of paxos-actors node processes, kept out
/// of the product.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        string command = args.Length > 0 ? args[0] : "help";
        string[] rest = args.Skip(1).ToArray();
        try
        {
            return command switch
            {
                "chaos" => await ChaosCommand.RunAsync(rest),
                "bench" => await BenchCommand.RunAsync(rest),
                "help" or "--help" or "-h" => Usage(0),
                _ => Usage(2, $"unknown command '{command}'"),
            };
        }
        catch (UsageException e)
        {
            return Usage(2, e.Message);
        }
    }

    private static int Usage(int code, string? error = null)
    {
        var w = code == 0 ? Console.Out : Console.Error;
        if (error is not null) w.WriteLine($"error: {error}\n");
        w.WriteLine("""
            usage: dotnet run -c Release --project src/PaxosActors.Tools -- <command> [options]

              chaos [--duration SECONDS] [--seed N] [--nodes 3|5] [--clients N] [--out DIR] [--mode multi|basic]
                    [--run-seconds S] [--keys K] [--min-ops N] [--faults kill,pause,isolate,split,combo,member]
                    [--spares S] [--target NODE] [--stale-reads-node NODE] [--run-seed R] [--node-config FILE]
                    [--log-level DEBUG|INFO|WARNING|ERROR]
                  Fault injection: fresh clusters of node processes under SIGKILL, SIGSTOP, partitions and changes
                  of the acceptor set (member: remove and re-add, replace by a spare and swap back; --spares S
                  nodes start outside the set, 1 by default with member) while clients write, read and cas;
                  runs of S (60) seconds until SECONDS (60) of faults are spent. Checks every history, recovery
                  and convergence (applied slot, kv_digest, acceptor set); prints a summary,
                  exits 1 if a run failed: an anomaly, a key the checker did not finish, a fault not confirmed,
                  or fewer than N (100) client operations ok in a run. --run-seed R replays one run (its fault
                  phase is SECONDS); --stale-reads-node makes that node read past the log (the control run);
                  --node-config: a HOCON file every node reads over its built-in configuration; --log-level:
                  the nodes' (WARNING; INFO shows the cluster's joins).

              bench [--endpoints URL,...] [--nodes N] [--mode multi|basic] [--workers N] [--duration S] [--warmup S]
                    [--value-size B] [--keys K] [--read-ratio R] [--timeout-ms T] [--seed N] [--json-only]
                    [--log-level LEVEL] [--node-config FILE]
                  Closed-loop load: N workers (16) each send PUT /kv/{key} (GET with probability R, default 0)
                  as soon as the previous request answers, for S seconds (10) after a warmup (2), on K uniform
                  keys (1000) with B-byte values (100). Without --endpoints it starts N nodes (3) on free ports
                  in a temporary directory and removes them at the end. Prints progress, then one JSON line:
                  ops, errors, ops_per_s, p50/p90/p99/p999/max_ms, server_cpu_s, peak_rss_mb, bench_cpu_s, ...
                  --json-only: nothing but that line on stdout (progress goes to stderr). --node-config: a HOCON
                  file every started node reads over its built-in configuration (node --extra-config).

            The nodes are the paxos-actors executable's `node` command (src/PaxosActors.Node), built with the tools.
            """);
        return code;
    }
}
