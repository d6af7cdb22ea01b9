using Akka.Configuration;
using PaxosActors.Hosting;

namespace PaxosActors.Node.Http;

/// <summary>
/// Keeps one node running: starts its ActorSystem, and if the cluster downs it (the split brain resolver
/// or a partition), starts a new one that recovers from the same SQLite file and joins again, without an
/// operator. The HTTP front end always talks to <see cref="Current"/>.
/// </summary>
public sealed class NodeRunner(Config config, TextWriter log)
{
    private readonly CancellationTokenSource _stopping = new();
    private volatile PaxosNodeHost? _current;

    public PaxosNodeHost? Current => _current;

    /// <summary>Called with each new ActorSystem, the first and every restart.</summary>
    public Action<PaxosNodeHost>? Started { get; init; }

    public PaxosNodeHost Start()
    {
        var host = PaxosNodeHost.Start(config);
        Started?.Invoke(host);
        _current = host;
        return host;
    }

    /// <summary>Runs until <see cref="StopAsync"/>: restarts the node whenever its ActorSystem ends on its own.</summary>
    public async Task SuperviseAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var host = _current ?? Start();
            await Task.WhenAny(host.WhenTerminated, Task.Delay(Timeout.Infinite, _stopping.Token));
            if (_stopping.IsCancellationRequested) break;
            log.WriteLine($"node {host.Settings.NodeId}: the ActorSystem stopped (downed by the cluster?); restarting from its journal");
            _current = null;
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), _stopping.Token);
                Start();
            }
            catch (OperationCanceledException) { break; }
            catch (Exception e)
            {
                log.WriteLine($"node restart failed: {e.Message}; retrying");
            }
        }
    }

    public async Task StopAsync()
    {
        _stopping.Cancel();
        if (_current is { } host) await host.StopAsync();
    }
}
