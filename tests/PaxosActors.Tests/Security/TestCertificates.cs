using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Security;

namespace PaxosActors.Tests.Security;

/// <summary>A temporary folder of PEM files made by <see cref="ClusterCertificates"/>: CAs and node certificates, and
/// the <c>paxos.tls</c> HOCON that points at them. Deleted on dispose.</summary>
public sealed class TestCertificates : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "paxos-tls-tests-" + Guid.NewGuid().ToString("N"));

    public TestCertificates() => Directory.CreateDirectory(Dir);

    /// <summary>A new CA, written as <c>{name}.crt</c> (with its key kept in memory for issuing).</summary>
    public X509Certificate2 Ca(string name)
    {
        var ca = ClusterCertificates.CreateCa(name, TimeSpan.FromDays(30));
        ClusterCertificates.WritePem(ca, Path.Combine(Dir, $"{name}.crt"));
        return ca;
    }

    /// <summary>A node certificate for 127.0.0.1 signed by <paramref name="ca"/>, written as <c>{name}.crt</c> and <c>{name}.key</c>.</summary>
    public X509Certificate2 Node(X509Certificate2 ca, string name, TimeSpan? validity = null)
    {
        var cert = ClusterCertificates.IssueNode(ca, name, ["127.0.0.1", "localhost"], validity ?? TimeSpan.FromDays(10));
        ClusterCertificates.WritePem(cert, Path.Combine(Dir, $"{name}.crt"), Path.Combine(Dir, $"{name}.key"));
        return cert;
    }

    /// <summary><c>paxos.tls</c> on, trusting CA file <paramref name="caName"/>, presenting node <paramref name="nodeName"/>.</summary>
    public Config Tls(string caName, string nodeName) => ConfigurationFactory.ParseString($"""
        paxos.tls {"{"}
          enabled = on
          ca-certificate = "{Path.Combine(Dir, caName + ".crt")}"
          certificate = "{Path.Combine(Dir, nodeName + ".crt")}"
          private-key = "{Path.Combine(Dir, nodeName + ".key")}"
        {"}"}
        """);

    /// <summary>A remoting ActorSystem on a free loopback port with <paramref name="tls"/>'s certificates.</summary>
    public static ActorSystem RemotingSystem(string name, Config tls, Akka.Actor.Setup.Setup? setup = null)
    {
        var config = ConfigurationFactory.ParseString("""
                akka.loglevel = WARNING
                akka.actor.provider = remote
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 0 }
                """)
            .WithFallback(TlsSettings.RemotingConfig).WithFallback(tls);
        return ActorSystem.Create(name, BootstrapSetup.Create().WithConfig(config).And(setup ?? TlsSettings.Create(config)!.RemotingSetup()));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
