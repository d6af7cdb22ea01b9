using PaxosActors.Node.Commands;

namespace PaxosActors.Node;

/// <summary>The paxos-actors executable, the product: one command per job (local, node, demo).</summary>
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
                "local" => await LocalCommand.RunAsync(rest),
                "node" => await NodeCommand.RunAsync(rest),
                "demo" => await BasicPaxosDemo.RunAsync(rest),
                "members" => await MembersCommand.RunAsync(rest),
                "token" => SecurityCommands.Token(rest),
                "certs" => SecurityCommands.Certs(rest),
                "chaos" or "bench" => Usage(2, $"'{command}' moved to paxos-tools: dotnet run -c Release --project src/PaxosActors.Tools -- {command} ..."),
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

              members list|add ID|remove ID [--as learner] [--endpoint URL]
                  The acceptor set of a running cluster, through any node (default http://127.0.0.1:8081):
                  list it, add a node as an acceptor (or --as learner: a member that does not vote), remove one.
                  A change answers once it is in force; one change at a time (409 while another is pending).

              token --scope read|write|admin [--name N]
                  A new bearer token, and the line (its SHA-256 hash) for paxos.http.auth.tokens-file.

              certs ca --out DIR [--days D]  |  certs node --ca-dir DIR --name N --hosts h1,h2 [--days D] [--out DIR2]
                  The cluster's CA (DIR/ca.crt, DIR/ca.key), and a node certificate it signs (N.crt, N.key) for paxos.tls.

              local [--secure] [--nodes N] [--data-dir DIR] [--mode multi|basic] [--http-port P] [--remote-port P]
                    [--log-level LEVEL] [--no-restart] [--config FILE] [--roles a,b] [--roles-dir DIR] [--redirect-writes]
                  A cluster of N (default 3) node processes on loopback: HTTP on 127.0.0.1:8081.., remoting on
                  4051.., one SQLite file per node in DIR (default ./data). A node that dies is restarted.
                  Ctrl-C or SIGTERM stops them all; run it again and the data is still there.
                  --config merges FILE (HOCON) into every node's configuration, --roles runs more roles on
                  every node, found in --roles-dir (default ./roles if it exists). --log-level INFO shows
                  the roles' own log lines. --secure makes a dev CA, node certificates and an admin token under
                  DIR/secure and runs every node with HTTPS, bearer tokens and remoting over mutual TLS.
                  --redirect-writes: see node.

              node [--config FILE] [--extra-config FILE] [--node-id N] [--http-port P] [--remote-port P]
                   [--host H] [--data-dir DIR] [--seeds host:port,...] [--mode multi|basic] [--acceptors 1,2,3]
                   [--log-level LEVEL] [--roles a,b] [--roles-dir DIR] [--rebuild-acceptor] [--insecure] [--redirect-writes]
                  One node. FILE defaults to the built-in hocon/node.hocon, whose PAXOS_* environment
                  variables and these options override it; --extra-config is merged over it. --roles adds
                  roles to akka.cluster.roles; --roles-dir (paxos.roles-dir, default ./roles if it exists) is
                  a folder of role assemblies. --rebuild-acceptor rebuilds an acceptor that
                  lost its journal from a majority of the others (see README, "Recovering an acceptor").
                  --redirect-writes (paxos.http.redirect-writes): a node that does not lead answers writes
                  with 307 and the leader's URL instead of forwarding them (for clients that follow, curl -L).

              demo [--data-dir DIR] [--values A,B]
                  Basic Paxos, visibly: three acceptors and two competing proposers in one process,
                  every Prepare / Promise / Accept / Accepted printed as it happens, then the chosen
                  values. The journal is DIR/demo.db (default ./data); run it again and the earlier
                  slots are still chosen.

            The chaos harness and the benchmark are not part of this executable: they are paxos-tools
            (dotnet run -c Release --project src/PaxosActors.Tools -- chaos|bench ...), which starts its node
            processes from this one.
            """);
        return code;
    }
}

/// <summary>A command line the program cannot act on.</summary>
public sealed class UsageException(string message) : Exception(message);
