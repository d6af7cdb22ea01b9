using PaxosActors.Node.Launch;

namespace PaxosActors.Node.Tests;

/// <summary>
/// One real <c>paxos-actors node</c> process (the launcher's <see cref="NodeProcess"/>) on free loopback ports with its
/// own temporary data directory. Dispose kills it (and deletes the directory), whatever happened in the test.
/// </summary>
public sealed class TestNode : IDisposable
{
    private readonly NodeProcess _process;
    private bool _disposed;

    private TestNode(int nodeId, string acceptors, string? configText, string? caFile, string? token)
    {
        var ports = FreePorts.Take(2);
        DataDir = Path.Combine(Path.GetTempPath(), "paxos-node-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DataDir);
        string? configFile = null;
        if (configText is not null)
        {
            configFile = Path.Combine(DataDir, "node.hocon");
            File.WriteAllText(configFile, configText);
        }
        _process = new NodeProcess(new NodeLaunch
        {
            NodeId = nodeId, HttpPort = ports[0], RemotePort = ports[1], ConfigFile = configFile,
            Seeds = $"127.0.0.1:{ports[1]}", Acceptors = acceptors, DataDir = DataDir, LogLevel = "WARNING",
            WorkingDirectory = DataDir, CaFile = caFile, Token = token,
        }, keepLines: 2000);
        _process.Start();
        Http = _process.Launch.NewHttpClient(TimeSpan.FromSeconds(30));
        Http.BaseAddress = new Uri($"{_process.Url}/");
    }

    /// <summary>Starts a node; with the default acceptor set <c>1</c> it is a whole cluster (a quorum of one).</summary>
    /// <param name="caFile">For a node serving HTTPS: the CA its certificate chains to (the launcher and <see cref="Http"/> trust it).</param>
    /// <param name="token">A bearer token <see cref="Http"/> and the launcher's readiness checks send.</param>
    public static TestNode Start(string acceptors = "1", string? configText = null, int nodeId = 1, string? caFile = null, string? token = null) =>
        new(nodeId, acceptors, configText, caFile, token);

    /// <summary>Waits (60 s at most) until <paramref name="node"/> takes a write; disposes it if it does not.</summary>
    public static async Task<TestNode> StartWritableAsync(TestNode node)
    {
        try
        {
            await node.WaitForWritesAsync(TimeSpan.FromSeconds(60));
            return node;
        }
        catch
        {
            node.Dispose();
            throw;
        }
    }

    public int HttpPort => _process.HttpPort;
    public int RemotePort => _process.RemotePort;
    public string DataDir { get; }
    public HttpClient Http { get; }
    public bool HasExited => !_process.Running;

    /// <summary>What the process printed so far (its last lines), for failure messages.</summary>
    public string Output => string.Join("\n", _process.Output);

    /// <summary>The same, line by line.</summary>
    public IReadOnlyList<string> OutputLines => _process.Output;

    /// <summary>Waits (bounded) until GET /status answers 200 from this process.</summary>
    public Task WaitForStatusAsync(TimeSpan timeout) => _process.WaitReadyAsync(timeout);

    /// <summary>Waits (bounded) until the node takes a write: started, leader elected, quorum reached.</summary>
    public Task WaitForWritesAsync(TimeSpan timeout) => _process.WaitWritableAsync(timeout);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Http.Dispose();
        _process.Dispose();
        try
        {
            Directory.Delete(DataDir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
