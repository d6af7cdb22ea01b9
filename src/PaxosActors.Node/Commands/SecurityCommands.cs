using System.Security.Cryptography.X509Certificates;
using PaxosActors.Node.Http;
using PaxosActors.Security;

namespace PaxosActors.Node.Commands;

/// <summary><c>token</c> and <c>certs</c>: the material of a secure deployment, made with .NET's own APIs (README, "Running securely").</summary>
public static class SecurityCommands
{
    /// <summary><c>token --scope read|write|admin [--name N]</c>: prints a new token, then the line that grants it (for a tokens file).</summary>
    public static int Token(string[] args)
    {
        var cl = new CommandLine(args);
        cl.AllowOnly("scope", "name");
        if (!Enum.TryParse<ApiScope>(cl.Get("scope", ""), ignoreCase: true, out var scope) || !Enum.IsDefined(scope))
            throw new UsageException("--scope is read, write or admin");
        string token = ApiTokens.NewToken();
        Console.WriteLine($"token (give it to the client; it is not stored): {token}");
        Console.WriteLine($"line for paxos.http.auth.tokens-file:             {ApiTokens.Line(scope, token, cl.Get("name", ""))}");
        return 0;
    }

    /// <summary><c>certs ca --out DIR [--days D]</c> writes DIR/ca.crt and DIR/ca.key; <c>certs node --ca-dir DIR --name N --hosts
    /// h1,h2 [--days D] [--out DIR2]</c> writes N.crt and N.key signed by that CA.</summary>
    public static int Certs(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("ca" or "node")) throw new UsageException("certs ca|node ...");
        var cl = new CommandLine(args[1..]);
        if (args[0] == "ca")
        {
            cl.AllowOnly("out", "days", "name");
            string dir = Directory.CreateDirectory(cl.Get("out") ?? throw new UsageException("--out DIR is required")).FullName;
            using var ca = ClusterCertificates.CreateCa(cl.Get("name", "PaxosActors cluster CA"), TimeSpan.FromDays(cl.GetInt("days", 3650, 1)));
            ClusterCertificates.WritePem(ca, Path.Combine(dir, "ca.crt"), Path.Combine(dir, "ca.key"));
            Console.WriteLine($"wrote {Path.Combine(dir, "ca.crt")} (give it to every node and client) and {Path.Combine(dir, "ca.key")} (keep it offline)");
            return 0;
        }
        cl.AllowOnly("ca-dir", "name", "hosts", "days", "out");
        string caDir = cl.Get("ca-dir") ?? throw new UsageException("--ca-dir DIR (where ca.crt and ca.key are) is required");
        string name = cl.Get("name") ?? throw new UsageException("--name is required (say node-1)");
        var hosts = (cl.Get("hosts") ?? throw new UsageException("--hosts h1,h2 (the node's addresses and DNS names) is required"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string outDir = Directory.CreateDirectory(cl.Get("out", caDir)).FullName;
        using var caCert = X509Certificate2.CreateFromPemFile(Path.Combine(caDir, "ca.crt"), Path.Combine(caDir, "ca.key"));
        using var node = ClusterCertificates.IssueNode(caCert, name, hosts, TimeSpan.FromDays(cl.GetInt("days", 365, 1)));
        ClusterCertificates.WritePem(node, Path.Combine(outDir, $"{name}.crt"), Path.Combine(outDir, $"{name}.key"));
        Console.WriteLine($"wrote {Path.Combine(outDir, name + ".crt")} and {Path.Combine(outDir, name + ".key")}, valid until {node.NotAfter.ToUniversalTime():yyyy-MM-dd} UTC");
        return 0;
    }
}
