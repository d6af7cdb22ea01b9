using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Security;

namespace PaxosActors.Tests.Security;

/// <summary>
/// Remoting over mutual TLS (<c>paxos.tls</c>): only a peer holding a certificate of the cluster's CA gets a message
/// through; a plain TCP connection, a TLS client without a certificate and one with another CA's are closed in the
/// handshake.
/// </summary>
public sealed class RemotingTlsSpec : IDisposable
{
    private readonly TestCertificates _certs = new();
    private readonly X509Certificate2 _ca;
    private readonly X509Certificate2 _otherCa;
    private readonly ActorSystem _server;
    private readonly List<ActorSystem> _systems = [];

    public RemotingTlsSpec()
    {
        _ca = _certs.Ca("cluster-ca");
        _otherCa = _certs.Ca("other-ca");
        _certs.Node(_ca, "node-1");
        _certs.Node(_ca, "node-2");
        _certs.Node(_otherCa, "stranger");
        _server = NewSystem("server", _certs.Tls("cluster-ca", "node-1"));
        _server.ActorOf(Props.Create(() => new Echo()), "echo");
    }

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    private ActorSystem NewSystem(string name, Config tls, Akka.Actor.Setup.Setup? setup = null)
    {
        var system = TestCertificates.RemotingSystem(name, tls, setup);
        _systems.Add(system);
        return system;
    }

    private Address ServerAddress => ((ExtendedActorSystem)_server).Provider.DefaultAddress;

    private async Task<bool> Reaches(ActorSystem client, TimeSpan within)
    {
        try
        {
            var answer = await client.ActorSelection($"{ServerAddress}/user/echo").Ask<string>("ping", within);
            return answer == "ping";
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }

    [Fact]
    public async Task A_node_with_a_certificate_of_the_cluster_CA_is_answered_over_TLS()
    {
        Assert.Equal("akka.ssl.tcp", ServerAddress.Protocol);
        var peer = NewSystem("peer", _certs.Tls("cluster-ca", "node-2"));
        Assert.True(await Reaches(peer, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task A_node_whose_certificate_another_CA_signed_gets_nothing_through()
    {
        // A node of its own making (TlsSettings would not even start it: its certificate does not chain to the CA it
        // names): it presents another CA's certificate and accepts any server.
        var strangerCert = X509Certificate2.CreateFromPemFile(Path.Combine(_certs.Dir, "stranger.crt"), Path.Combine(_certs.Dir, "stranger.key"));
        var stranger = NewSystem("stranger", Config.Empty,
            new Akka.Remote.Transport.DotNetty.DotNettySslSetup(strangerCert, suppressValidation: true, requireMutualAuthentication: true));
        Assert.False(await Reaches(stranger, TimeSpan.FromSeconds(4)));
        // The same system given a good certificate gets through: what failed was the certificate.
        var peer = NewSystem("stranger", _certs.Tls("cluster-ca", "node-2"));
        Assert.True(await Reaches(peer, TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task A_node_that_does_not_trust_the_cluster_CA_refuses_the_server()
    {
        var wrongTrust = NewSystem("wrong-trust", _certs.Tls("other-ca", "stranger"));
        Assert.False(await Reaches(wrongTrust, TimeSpan.FromSeconds(4)));
    }

    private async Task<Stream> Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ServerAddress.Port!.Value));
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>True when the server ends the connection (EOF, reset or a TLS alert) within 10 s of <paramref name="talk"/>.</summary>
    private static async Task<bool> ClosedByServer(Func<Task> talk, Func<Memory<byte>, CancellationToken, ValueTask<int>> read)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await talk();
            int n = await read(new byte[1024], cts.Token);
            return n == 0;
        }
        catch (OperationCanceledException)
        {
            return false; // still open
        }
        catch (Exception e) when (e is IOException or global::System.Security.Authentication.AuthenticationException or SocketException)
        {
            return true;
        }
    }

    private static SslClientAuthenticationOptions ClientOptions(X509Certificate2? certificate) => new()
    {
        TargetHost = "127.0.0.1",
        RemoteCertificateValidationCallback = (_, _, _, _) => true, // the test checks the server, not us
        ClientCertificates = certificate is null ? null : new X509CertificateCollection { certificate },
    };

    [Fact]
    public async Task A_plain_TCP_connection_and_a_TLS_client_without_a_certificate_are_closed_in_the_handshake()
    {
        await using (var plain = await Connect())
        {
            var junk = new byte[64];
            global::System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(junk, 60);
            Assert.True(await ClosedByServer(() => plain.WriteAsync(junk).AsTask(), plain.ReadAsync), "plain TCP was not closed");
        }
        await using (var tls = new SslStream(await Connect()))
        {
            Assert.True(await ClosedByServer(() => tls.AuthenticateAsClientAsync(ClientOptions(null)), tls.ReadAsync),
                "a TLS client without a certificate was not refused");
        }
        var stranger = X509Certificate2.CreateFromPemFile(Path.Combine(_certs.Dir, "stranger.crt"), Path.Combine(_certs.Dir, "stranger.key"));
        await using (var tls = new SslStream(await Connect()))
        {
            Assert.True(await ClosedByServer(() => tls.AuthenticateAsClientAsync(ClientOptions(stranger)), tls.ReadAsync),
                "a TLS client with another CA's certificate was not refused");
        }
    }

    [Fact]
    public async Task A_raw_TLS_client_with_a_certificate_of_the_cluster_CA_is_kept_connected()
    {
        // The control of the test above: the same raw client, with a good certificate, is not closed (it then owes the
        // server Akka's handshake, which this test does not send).
        var good = X509Certificate2.CreateFromPemFile(Path.Combine(_certs.Dir, "node-2.crt"), Path.Combine(_certs.Dir, "node-2.key"));
        await using var tls = new SslStream(await Connect());
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await tls.AuthenticateAsClientAsync(ClientOptions(good));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await tls.ReadExactlyAsync(new byte[16], cts.Token));
    }

    [Fact]
    public void A_certificate_is_checked_against_the_cluster_CA_only()
    {
        var error = Assert.Throws<ConfigurationException>(() => TlsSettings.Create(_certs.Tls("cluster-ca", "stranger")));
        Assert.Contains("is not signed by the cluster's CA", error.Message);
        var mine = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_certs.Dir, "node-2.crt"));
        var theirs = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(_certs.Dir, "stranger.crt"));
        Assert.True(TlsSettings.ChainsTo(mine, _ca));
        Assert.False(TlsSettings.ChainsTo(theirs, _ca));
        Assert.False(TlsSettings.ChainsTo(mine, _otherCa));
        Assert.False(TlsSettings.ChainsTo(null, _ca));
    }

    public void Dispose()
    {
        foreach (var system in _systems.Append(_server)) system.Terminate().Wait(TimeSpan.FromSeconds(10));
        _certs.Dispose();
    }
}
