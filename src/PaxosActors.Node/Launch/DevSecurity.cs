using System.Security.Cryptography.X509Certificates;
using PaxosActors.Configuration;
using PaxosActors.Node.Http;
using PaxosActors.Security;

namespace PaxosActors.Node.Launch;

/// <summary>
/// The security material of <c>local --secure</c>, under <c>DIR/secure/</c>: a development CA (<c>ca.crt</c>, <c>ca.key</c>), a
/// certificate per node for 127.0.0.1 and localhost (<c>node-N.crt</c>, <c>node-N.key</c>), an admin token in the clear
/// (<c>admin.token</c>, for curl) and its hash (<c>tokens</c>, what the nodes read), and per node the HOCON that turns
/// TLS and authentication on (<c>node-N.hocon</c>). What exists is kept, so a second run serves with the same CA and token;
/// what is missing is made (a node certificate for a new node, say). Keys and the token are readable by their owner only.
/// </summary>
public sealed class DevSecurity
{
    private DevSecurity(string dir, string adminToken)
    {
        Dir = dir;
        AdminToken = adminToken;
    }

    public string Dir { get; }
    public string CaFile => Path.Combine(Dir, "ca.crt");
    public string AdminTokenFile => Path.Combine(Dir, "admin.token");
    public string TokensFile => Path.Combine(Dir, "tokens");
    public string AdminToken { get; }

    public string NodeConfigFile(int nodeId) => Path.Combine(Dir, $"node-{nodeId}.hocon");

    /// <summary>Makes (or finds) the material for nodes <paramref name="nodeIds"/> under <paramref name="dataDir"/>/secure.</summary>
    public static DevSecurity Prepare(string dataDir, IEnumerable<int> nodeIds)
    {
        string dir = Path.Combine(dataDir, "secure");
        Directory.CreateDirectory(dir);
        string caCrt = Path.Combine(dir, "ca.crt"), caKey = Path.Combine(dir, "ca.key");
        X509Certificate2 ca;
        if (File.Exists(caCrt) && File.Exists(caKey))
        {
            ca = X509Certificate2.CreateFromPemFile(caCrt, caKey);
        }
        else
        {
            ca = ClusterCertificates.CreateCa("PaxosActors dev CA", TimeSpan.FromDays(365));
            ClusterCertificates.WritePem(ca, caCrt, caKey);
        }
        using (ca)
        {
            foreach (int id in nodeIds)
            {
                string crt = Path.Combine(dir, $"node-{id}.crt"), key = Path.Combine(dir, $"node-{id}.key");
                if (!File.Exists(crt) || !File.Exists(key) || !ValidFor(crt, ca))
                {
                    using var node = ClusterCertificates.IssueNode(ca, $"paxos-node-{id}", ["127.0.0.1", "localhost"], TimeSpan.FromDays(90));
                    ClusterCertificates.WritePem(node, crt, key);
                }
            }
        }
        string tokenFile = Path.Combine(dir, "admin.token"), tokensFile = Path.Combine(dir, "tokens");
        string token;
        if (File.Exists(tokenFile) && File.Exists(tokensFile))
        {
            token = File.ReadAllText(tokenFile).Trim();
        }
        else
        {
            token = ApiTokens.NewToken();
            ClusterCertificates.WritePrivate(tokenFile, token + "\n");
            File.WriteAllText(tokensFile, "# <scope> sha256:<hash of the token> [name]; see README, 'Running securely'\n" +
                                          ApiTokens.Line(ApiScope.Admin, token, "local-admin") + "\n");
        }
        var security = new DevSecurity(dir, token);
        foreach (int id in nodeIds) File.WriteAllText(security.NodeConfigFile(id), security.NodeConfig(id));
        return security;
    }

    private static bool ValidFor(string crt, X509Certificate2 ca)
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(crt);
        return TlsSettings.ChainsTo(cert, ca) && cert.NotAfter.ToUniversalTime() > DateTime.UtcNow.AddDays(7);
    }

    /// <summary>The HOCON of node <paramref name="nodeId"/>: TLS with its certificate, bearer tokens from the tokens file.</summary>
    public string NodeConfig(int nodeId) => $"""
        # Written by `paxos-actors local --secure`.
        paxos.tls {"{"}
          enabled = on
          ca-certificate = {HoconString.Quote(CaFile)}
          certificate = {HoconString.Quote(Path.Combine(Dir, $"node-{nodeId}.crt"))}
          private-key = {HoconString.Quote(Path.Combine(Dir, $"node-{nodeId}.key"))}
        {"}"}
        paxos.http.auth {"{"}
          enabled = on
          tokens-file = {HoconString.Quote(TokensFile)}
        {"}"}

        """;
}
