using PaxosActors.Node.Commands;

namespace PaxosActors.Node;

/// <summary>The paxos-actors executable: one command per job.</summary>
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
                "demo" => await BasicPaxosDemo.RunAsync(rest),
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
            usage: dotnet run --project src/PaxosActors.Node -- <command> [options]

              demo [--data-dir DIR] [--values A,B]
                  Basic Paxos, visibly: three acceptors and two competing proposers in one process,
                  every Prepare / Promise / Accept / Accepted printed as it happens, then the chosen
                  values. The journal is DIR/demo.db (default ./data); run it again and the earlier
                  slots are still chosen.
            """);
        return code;
    }
}

/// <summary>A command line the program cannot act on.</summary>
public sealed class UsageException(string message) : Exception(message);
