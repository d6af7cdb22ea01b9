using System.Security.Cryptography.X509Certificates;
using Akka.Configuration;
using PaxosActors.Security;

namespace PaxosActors.Node.Http;

/// <summary>
/// The certificate HTTPS presents: the node's (<c>paxos.tls.certificate</c>), loaded again when its file changes (checked
/// at most every 5 s), so a renewed certificate is served without a restart. A new file that does not load or does not
/// chain to the cluster's CA is ignored (the old certificate stays) until it is fixed.
/// </summary>
public sealed class ServerCertificate(TlsSettings tls)
{
    private readonly Lock _lock = new();
    private X509Certificate2 _current = tls.Certificate;
    private (DateTime Cert, DateTime Key) _stamp = Stamp(tls);
    private long _checkedAt = Environment.TickCount64;

    public X509Certificate2 Current
    {
        get
        {
            long now = Environment.TickCount64;
            if (now - Interlocked.Read(ref _checkedAt) < 5000) return _current;
            lock (_lock)
            {
                Interlocked.Exchange(ref _checkedAt, now);
                try
                {
                    var stamp = Stamp(tls);
                    if (stamp != _stamp)
                    {
                        _current = TlsSettings.LoadCertificate(tls.CertificatePath, tls.KeyPath, tls.Ca);
                        _stamp = stamp;
                    }
                }
                catch (Exception e) when (e is IOException or ConfigurationException)
                {
                    // half-written or wrong: keep serving the certificate we have
                }
                return _current;
            }
        }
    }

    private static (DateTime, DateTime) Stamp(TlsSettings tls) => (File.GetLastWriteTimeUtc(tls.CertificatePath), File.GetLastWriteTimeUtc(tls.KeyPath));
}
