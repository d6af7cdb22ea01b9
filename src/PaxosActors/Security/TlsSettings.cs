using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Event;
using Akka.Remote.Transport.DotNetty;

namespace PaxosActors.Security;

/// <summary>
/// <c>paxos.tls</c>: the cluster's CA and this node's certificate and key (PEM files). On, remoting runs over mutual
/// TLS: every connection, in and out, presents this node's certificate and must be answered by a peer whose certificate
/// chains to the cluster's CA (and to nothing else: the system's trust store does not count); the executable serves
/// HTTPS with the same certificate. Read once at start-up; a missing or unreadable file fails here, naming the key.
/// </summary>
public sealed class TlsSettings
{
    private TlsSettings(X509Certificate2 ca, X509Certificate2 certificate, TimeSpan expiryWarning, string certificatePath, string keyPath)
    {
        Ca = ca;
        Certificate = certificate;
        ExpiryWarning = expiryWarning;
        CertificatePath = certificatePath;
        KeyPath = keyPath;
    }

    /// <summary>The cluster's CA: the only root a peer's certificate may chain to.</summary>
    public X509Certificate2 Ca { get; }

    /// <summary>This node's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The file <see cref="Certificate"/> came from.</summary>
    public string CertificatePath { get; }

    /// <summary>The file its private key came from.</summary>
    public string KeyPath { get; }

    /// <summary>How long before a certificate expires the node starts warning about it (log and /status).</summary>
    public TimeSpan ExpiryWarning { get; }

    /// <summary>Whether <c>paxos.tls.enabled</c> is on.</summary>
    public static bool IsOn(Config config) => config.GetBoolean("paxos.tls.enabled", false);

    /// <summary>The remoting scheme of a node with this configuration: <c>akka.ssl.tcp</c> with TLS, else <c>akka.tcp</c>;
    /// with <paramref name="adapter"/> (say <c>trttl</c>) inserted after <c>akka.</c>.</summary>
    public static string Scheme(Config config, string? adapter = null) =>
        "akka." + (adapter is null ? "" : adapter + ".") + (IsOn(config) ? "ssl.tcp" : "tcp");

    /// <summary>Reads <c>paxos.tls</c>; null when it is off.</summary>
    /// <exception cref="ConfigurationException">A file is missing or does not hold what it should.</exception>
    public static TlsSettings? Create(Config config)
    {
        if (!IsOn(config)) return null;
        string caPath = File(config, "ca-certificate");
        string certPath = File(config, "certificate");
        string keyPath = config.GetString("paxos.tls.private-key", "") is { Length: > 0 } k ? File(config, "private-key") : certPath;
        X509Certificate2 ca, certificate;
        try
        {
            ca = X509CertificateLoader.LoadCertificateFromFile(caPath);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException)
        {
            throw new ConfigurationException($"paxos.tls.ca-certificate: {caPath} is not a certificate: {e.Message}");
        }
        certificate = LoadCertificate(certPath, keyPath, ca);
        var warning = config.GetTimeSpan("paxos.tls.expiry-warning", TimeSpan.FromDays(30));
        return new TlsSettings(ca, certificate, warning, certPath, keyPath);
    }

    /// <summary>A node certificate and its key from PEM files, checked to chain to <paramref name="ca"/>.</summary>
    /// <exception cref="ConfigurationException">It does not load, or does not chain to the CA (or is expired).</exception>
    public static X509Certificate2 LoadCertificate(string certPath, string keyPath, X509Certificate2 ca)
    {
        X509Certificate2 certificate;
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            // A key loaded from PEM is ephemeral; SslStream wants one it can use from a certificate store on some platforms.
            certificate = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or ArgumentException)
        {
            throw new ConfigurationException($"paxos.tls.certificate / private-key: cannot load {certPath} with the key in {keyPath}: {e.Message}");
        }
        if (!ChainsTo(certificate, ca))
            throw new ConfigurationException($"paxos.tls.certificate: {certPath} ({certificate.Subject}) is not signed by the cluster's CA ({ca.Subject}), or is expired");
        return certificate;
    }

    /// <summary>When this node's certificate and the CA expire, as of <paramref name="now"/>, and a warning for each that
    /// expires within <see cref="ExpiryWarning"/>.</summary>
    public IReadOnlyList<CertificateExpiry> Expiry(DateTime now) =>
        [CertificateExpiry.Of("certificate", CertificatePath, Certificate, now, ExpiryWarning), CertificateExpiry.Of("ca-certificate", "", Ca, now, ExpiryWarning)];

    private static string File(Config config, string key)
    {
        string path = config.GetString($"paxos.tls.{key}", "");
        if (path.Length == 0) throw new ConfigurationException($"paxos.tls.{key} is required when paxos.tls.enabled = on");
        if (!System.IO.File.Exists(path)) throw new ConfigurationException($"paxos.tls.{key}: no such file: {path}");
        return path;
    }

    /// <summary>Whether <paramref name="certificate"/> is valid now and chains to <paramref name="ca"/>, with <paramref name="ca"/> as
    /// the only trusted root (the system's store plays no part).</summary>
    public static bool ChainsTo(X509Certificate2? certificate, X509Certificate2 ca)
    {
        if (certificate is null) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.NoFlag;
        chain.ChainPolicy.VerificationTime = DateTime.Now;
        return chain.Build(certificate) && chain.ChainElements[^1].Certificate.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span);
    }

    /// <summary>A client's check of a server certificate (HTTPS): it chains to <paramref name="ca"/> alone and names the host.</summary>
    public static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 ca) => (_, cert, _, errors) =>
        (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
        && cert is not null && ChainsTo(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()), ca);

    /// <summary>The remoting setup: mutual authentication required, and a peer certificate accepted only if it chains to
    /// the cluster's CA. Host names are not checked (nodes are reached by address; the CA is the cluster's own).</summary>
    public Setup RemotingSetup() =>
        new DotNettySslSetup(Certificate, suppressValidation: false, requireMutualAuthentication: true, validateCertificateHostname: false,
            customValidator: ValidatePeer);

    private bool ValidatePeer(X509Certificate2? certificate, X509Chain? chain, string? remotePeer, SslPolicyErrors errors, ILoggingAdapter? log)
    {
        if (ChainsTo(certificate, Ca)) return true;
        log?.Warning("TLS: refused {0}: {1}", remotePeer,
            certificate is null ? "it presented no certificate" : $"its certificate {certificate.Subject} (issuer {certificate.Issuer}) does not chain to the cluster's CA {Ca.Subject}");
        return false;
    }

    /// <summary>The HOCON that turns remoting's TLS on (the certificate comes from <see cref="RemotingSetup"/>).</summary>
    public static Config RemotingConfig { get; } = ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.enable-ssl = true");
}

/// <summary>When one certificate expires, and the warning to give if that is within the warning period.</summary>
public sealed record CertificateExpiry(string Key, string Subject, DateTime NotAfter, int DaysLeft, string? Warning)
{
    public static CertificateExpiry Of(string key, string path, X509Certificate2 certificate, DateTime now, TimeSpan warnWithin)
    {
        var notAfter = certificate.NotAfter.ToUniversalTime();
        int days = (int)Math.Floor((notAfter - now.ToUniversalTime()).TotalDays);
        string? warning = notAfter - now.ToUniversalTime() > warnWithin ? null :
            $"the TLS {key} {(path.Length > 0 ? path + " " : "")}({certificate.Subject}) expires in {days} days, on {notAfter:yyyy-MM-dd HH:mm} UTC: " +
            "replace it before then (README, 'Running securely')";
        return new CertificateExpiry(key, certificate.Subject, notAfter, days, warning);
    }
}
