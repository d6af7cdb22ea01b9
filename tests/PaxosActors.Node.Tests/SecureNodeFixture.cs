using System.Security.Cryptography.X509Certificates;
using System.Text;
using PaxosActors.Node.Http;
using PaxosActors.Security;

namespace PaxosActors.Node.Tests;

/// <summary>One node with TLS and bearer tokens (a read, a write and an admin token), small limits so the hardening can be
/// seen, and a certificate-expiry warning period longer than its certificate's life.</summary>
public sealed class SecureNodeFixture : IAsyncLifetime
{
    public const int MaxRequestsPerClient = 3;

    public string ReadToken { get; } = ApiTokens.NewToken();
    public string WriteToken { get; } = ApiTokens.NewToken();
    public string AdminToken { get; } = ApiTokens.NewToken();
    public string CertDir { get; } = Path.Combine(Path.GetTempPath(), "paxos-secure-node-" + Guid.NewGuid().ToString("N"));
    public TestNode Node { get; private set; } = null!;
    public string CaFile => Path.Combine(CertDir, "ca.crt");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(CertDir);
        using var ca = ClusterCertificates.CreateCa("test CA", TimeSpan.FromDays(30));
        ClusterCertificates.WritePem(ca, CaFile);
        using var node = ClusterCertificates.IssueNode(ca, "node-1", ["127.0.0.1"], TimeSpan.FromDays(20));
        ClusterCertificates.WritePem(node, Path.Combine(CertDir, "node.crt"), Path.Combine(CertDir, "node.key"));
        // The read token inline, the others in a file.
        File.WriteAllText(Path.Combine(CertDir, "tokens"),
            ApiTokens.Line(ApiScope.Write, WriteToken, "writer") + "\n# a comment\n" + ApiTokens.Line(ApiScope.Admin, AdminToken, "admin") + "\n");
        Node = await TestNode.StartWritableAsync(TestNode.Start(caFile: CaFile, token: AdminToken, configText: $$"""
            paxos.tls {
              enabled = on
              ca-certificate = "{{CaFile}}"
              certificate = "{{Path.Combine(CertDir, "node.crt")}}"
              private-key = "{{Path.Combine(CertDir, "node.key")}}"
              expiry-warning = 25d
            }
            paxos.http.auth {
              enabled = on
              tokens = ["{{ApiTokens.Line(ApiScope.Read, ReadToken, "reader")}}"]
              tokens-file = "{{Path.Combine(CertDir, "tokens")}}"
            }
            paxos.http.limits {
              max-requests-per-client = {{MaxRequestsPerClient}}
              request-headers-timeout = 2s
            }
            """));
        Target = new RawHttpTarget(Node.HttpPort, X509CertificateLoader.LoadCertificateFromFile(CaFile));
    }

    public Task DisposeAsync()
    {
        Node?.Dispose();
        try
        {
            Directory.Delete(CertDir, recursive: true);
        }
        catch (IOException)
        {
        }
        return Task.CompletedTask;
    }

    /// <summary>The node's HTTPS port for <see cref="RawHttp"/>, trusting only the test CA.</summary>
    public RawHttpTarget Target { get; private set; } = null!;

    /// <summary>A raw TLS connection to the node's HTTPS port, trusting only the test CA.</summary>
    public async Task<Stream> ConnectTls()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return (await Target.ConnectAsync(cts.Token)).Stream;
    }

    /// <summary>Sends <paramref name="text"/> (ASCII) on <paramref name="tls"/>.</summary>
    public static Task Write(Stream tls, string text) => tls.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();
}
