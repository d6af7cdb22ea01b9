using System.Collections.Immutable;

namespace PaxosActors.Node.Launch;

/// <summary>
/// What one node process is started with: the <c>node</c> command's options, and its environment. The process does
/// not inherit the launcher's <c>PAXOS_*</c> variables (node.hocon reads them): these options are its only input.
/// </summary>
public sealed record NodeLaunch
{
    public required int NodeId { get; init; }
    public required int HttpPort { get; init; }
    public required int RemotePort { get; init; }

    /// <summary>Where the node listens and is reached, for HTTP and remoting alike.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The seeds' remoting endpoints, <c>host:port,...</c>; null: as the node's configuration says.</summary>
    public string? Seeds { get; init; }

    /// <summary>The acceptor ids, <c>1,2,3</c>; null: as the node's configuration says.</summary>
    public string? Acceptors { get; init; }

    public string? DataDir { get; init; }
    public string? Mode { get; init; }
    public string? LogLevel { get; init; }

    /// <summary>A HOCON file for <c>--config</c>; null: the built-in hocon/node.hocon.</summary>
    public string? ConfigFile { get; init; }

    /// <summary>More options after the others, e.g. <c>--rebuild-acceptor</c>.</summary>
    public IReadOnlyList<string> ExtraArgs { get; init; } = [];

    /// <summary>Variables set in the node's environment (every start).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = ImmutableDictionary<string, string>.Empty;

    public string? WorkingDirectory { get; init; }

    /// <summary>For a node that serves HTTPS: the CA certificate (PEM) its certificate chains to; null: plain HTTP.</summary>
    public string? CaFile { get; init; }

    /// <summary>A bearer token the launcher's own requests (readiness) carry; null: none.</summary>
    public string? Token { get; init; }

    public string Url => $"{(CaFile is null ? "http" : "https")}://{Host}:{HttpPort}";

    /// <summary>An HTTP client for this node: trusting only <see cref="CaFile"/> for HTTPS, sending <see cref="Token"/>.</summary>
    public HttpClient NewHttpClient(TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler();
        if (CaFile is not null)
        {
            var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(CaFile);
            handler.SslOptions.RemoteCertificateValidationCallback = PaxosActors.Security.TlsSettings.TrustOnly(ca);
        }
        var http = new HttpClient(handler) { Timeout = timeout };
        if (Token is not null) http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    /// <summary>The remoting endpoint as seeds and the fault-injection endpoints name it: <c>host:port</c>.</summary>
    public string RemoteEndpoint => $"{Host}:{RemotePort}";

    /// <summary>The command line: <c>node --node-id ... --exit-with-stdin</c>. The node stops when the launcher's end of
    /// its stdin closes, so it cannot outlive a launcher that dies.</summary>
    public IReadOnlyList<string> Arguments()
    {
        var args = new List<string> { "node" };
        void Option(string name, string? value)
        {
            if (value is null) return;
            args.Add(name);
            args.Add(value);
        }
        Option("--config", ConfigFile);
        Option("--node-id", $"{NodeId}");
        Option("--http-port", $"{HttpPort}");
        Option("--remote-port", $"{RemotePort}");
        Option("--host", Host);
        Option("--seeds", Seeds);
        Option("--acceptors", Acceptors);
        Option("--data-dir", DataDir);
        Option("--mode", Mode);
        Option("--log-level", LogLevel);
        args.Add("--exit-with-stdin");
        args.AddRange(ExtraArgs);
        return args;
    }

    /// <summary>
    /// Nodes 1..n of one cluster on loopback: node i on <paramref name="httpPorts"/>[i-1] and
    /// <paramref name="remotePorts"/>[i-1], every node an acceptor, the first three the seeds, one data directory.
    /// </summary>
    public static IReadOnlyList<NodeLaunch> LoopbackCluster(IReadOnlyList<int> httpPorts, IReadOnlyList<int> remotePorts,
        string dataDir, string mode = "multi", string logLevel = "WARNING")
    {
        if (httpPorts.Count != remotePorts.Count || httpPorts.Count == 0)
            throw new ArgumentException("one HTTP and one remoting port per node, at least one node");
        var ids = Enumerable.Range(1, httpPorts.Count).ToList();
        string seeds = string.Join(",", ids.Take(3).Select(i => $"127.0.0.1:{remotePorts[i - 1]}"));
        string acceptors = string.Join(",", ids);
        return ids.Select(id => new NodeLaunch
        {
            NodeId = id, HttpPort = httpPorts[id - 1], RemotePort = remotePorts[id - 1],
            Seeds = seeds, Acceptors = acceptors, DataDir = dataDir, Mode = mode, LogLevel = logLevel,
        }).ToList();
    }
}
