using Akka.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace PaxosActors.Node.Http;

/// <summary>
/// <c>paxos.http.limits</c>: what one request and one client may take of a node, enforced by Kestrel (request line and
/// header sizes, the time to send the headers and the rate of a body, against slowloris) and by <see cref="ApiGuard"/>
/// (requests in progress per client address). The body's own bound is <c>paxos.kv.max-value-bytes</c> (KvApi's 413).
/// </summary>
public sealed class HttpLimits
{
    public int MaxRequestLineBytes { get; private init; }
    public int MaxHeaderBytes { get; private init; }
    public int MaxHeaderCount { get; private init; }
    public TimeSpan RequestHeadersTimeout { get; private init; }
    public TimeSpan KeepAliveTimeout { get; private init; }
    public double MinBodyBytesPerSecond { get; private init; }
    public TimeSpan MinBodyRateGrace { get; private init; }
    public int MaxConnections { get; private init; }
    public int MaxRequestsPerClient { get; private init; }

    public static HttpLimits Create(Config config)
    {
        var c = config.GetConfig("paxos.http.limits") ?? throw new ConfigurationException("paxos.http.limits: the section is missing");
        int Positive(string key)
        {
            long v = c.GetByteSize(key) ?? 0;
            return v is > 0 and <= int.MaxValue ? (int)v : throw new ConfigurationException($"paxos.http.limits.{key}: must be positive, not {v}");
        }
        TimeSpan Duration(string key)
        {
            var v = c.GetTimeSpan(key);
            return v > TimeSpan.Zero ? v : throw new ConfigurationException($"paxos.http.limits.{key}: must be positive");
        }
        return new HttpLimits
        {
            MaxRequestLineBytes = Positive("max-request-line"),
            MaxHeaderBytes = Positive("max-headers"),
            MaxHeaderCount = Positive("max-header-count"),
            RequestHeadersTimeout = Duration("request-headers-timeout"),
            KeepAliveTimeout = Duration("keep-alive-timeout"),
            MinBodyBytesPerSecond = Positive("min-body-rate"),
            MinBodyRateGrace = Duration("min-body-rate-grace"),
            MaxConnections = Positive("max-connections"),
            MaxRequestsPerClient = Positive("max-requests-per-client"),
        };
    }

    public void Apply(KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = MaxRequestLineBytes;
        limits.MaxRequestHeadersTotalSize = MaxHeaderBytes;
        limits.MaxRequestHeaderCount = MaxHeaderCount;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
        limits.KeepAliveTimeout = KeepAliveTimeout;
        limits.MinRequestBodyDataRate = new MinDataRate(MinBodyBytesPerSecond, MinBodyRateGrace);
        limits.MaxConcurrentConnections = MaxConnections;
        limits.MaxConcurrentUpgradedConnections = 0;
        limits.MaxRequestBodySize = null; // KvApi enforces paxos.kv.max-value-bytes itself, with a JSON 413
    }
}
