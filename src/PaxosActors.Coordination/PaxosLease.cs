using System.Diagnostics;
using Akka.Actor;
using Akka.Coordination;
using Akka.Event;
using PaxosActors.Hosting;

namespace PaxosActors.Coordination;

/// <summary>
/// An Akka.Coordination <see cref="Lease"/> decided through the Paxos log of the application's own cluster (the
/// <see cref="LeaseRole"/> on the nodes that take leases). Configure it at <c>akka.coordination.lease.paxos</c> and name
/// that path in <c>use-lease</c> (Cluster Singleton, Cluster Sharding) or the split brain resolver's
/// <c>lease-majority.lease-implementation</c>.
/// </summary>
/// <remarks>
/// <para>Acquire is reentrant: the holder acquiring again keeps its lease and token. While held, the lease renews itself
/// every <c>heartbeat-interval</c>; a lease nobody renews for <c>heartbeat-timeout</c> is expired through the log by
/// the other nodes (<see cref="LeaseExpiry"/>). <see cref="CheckLease"/> is true only until
/// <c>(1 - max-clock-drift) * heartbeat-timeout</c> after the holder sent its last successful renewal, and the
/// lease-lost callback runs when that time passes without one, or when a renewal finds the lease gone.</para>
/// <para><see cref="FencingToken"/> is the token the log gave this acquisition: larger than any given before, for any
/// holder. A resource that remembers the largest token it has seen can refuse a holder that lost its lease while paused.</para>
/// <para>The clock assumption that remains: no node's monotonic clock runs faster than another's by more than
/// <c>max-clock-drift</c> of a time to live. Wall clocks may disagree by any amount; a process pause of the holder
/// between <see cref="CheckLease"/> and its use of the resource is what the fencing token is for.</para>
/// </remarks>
public sealed class PaxosLease : Lease
{
    private readonly ActorSystem _system;
    private readonly ILoggingAdapter _log;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _believed;
    private readonly Lock _gate = new();
    private readonly LeaseBelief _belief;
    private Action<Exception>? _lost;
    private ICancelable? _renewals;

    public PaxosLease(LeaseSettings settings, ActorSystem system) : base(settings)
    {
        _system = system;
        _log = Logging.GetLogger(system, typeof(PaxosLease));
        _ttl = settings.TimeoutSettings.HeartbeatTimeout;
        double drift = settings.LeaseConfig.GetDouble("max-clock-drift", 0.1);
        if (drift is < 0 or >= 1) throw new LeaseException($"lease {settings.LeaseName}: max-clock-drift must be in [0, 1), is {drift}");
        _believed = _ttl * (1 - drift);
        _belief = new LeaseBelief((long)(_believed.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>The fencing token of the current acquisition while <see cref="CheckLease"/> holds, else null.</summary>
    public long? FencingToken
    {
        get
        {
            lock (_gate) return _belief.Holds(Stopwatch.GetTimestamp()) ? _belief.Current?.Token : null;
        }
    }

    /// <summary>The log slot that granted the current acquisition, while held.</summary>
    public long? GrantedInSlot
    {
        get
        {
            lock (_gate) return _belief.Holds(Stopwatch.GetTimestamp()) ? _belief.Current?.GrantedInSlot : null;
        }
    }

    public override Task<bool> Acquire() => Acquire(null!);

    public override async Task<bool> Acquire(Action<Exception> leaseLostCallback)
    {
        var leases = await ServiceAsync();
        long sentAt = Stopwatch.GetTimestamp();
        LeaseResult result;
        using (var timeout = new CancellationTokenSource(Settings.TimeoutSettings.OperationTimeout))
        {
            try
            {
                result = await leases.AcquireAsync(Settings.LeaseName, Settings.OwnerName, _ttl, timeout.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or Replication.CommandTimeoutException)
            {
                throw new LeaseTimeoutException($"lease {Settings.LeaseName}: acquire for {Settings.OwnerName} timed out; its outcome is unknown", e);
            }
        }
        if (!result.Ok || result.Token is not { } token) return false;
        lock (_gate)
        {
            _belief.Granted(token, result.Version ?? 0, result.GrantedInSlot ?? 0, sentAt);
            if (leaseLostCallback is not null) _lost = leaseLostCallback;
            _renewals ??= _system.Scheduler.Advanced.ScheduleRepeatedlyCancelable(Settings.TimeoutSettings.HeartbeatInterval,
                Settings.TimeoutSettings.HeartbeatInterval, () => _ = RenewAsync(leases));
        }
        _log.Info("lease {0}: acquired by {1} with fencing token {2} (slot {3})", Settings.LeaseName, Settings.OwnerName, token, result.GrantedInSlot);
        return true;
    }

    public override async Task<bool> Release()
    {
        long token, version;
        lock (_gate)
        {
            if (_belief.Current is not { } held)
            {
                Stop();
                return false;
            }
            (token, version) = (held.Token, held.Version);
            Stop();
        }
        var leases = await ServiceAsync();
        using var timeout = new CancellationTokenSource(Settings.TimeoutSettings.OperationTimeout);
        try
        {
            var result = await leases.ReleaseAsync(Settings.LeaseName, Settings.OwnerName, token, version, timeout.Token);
            return result.Ok;
        }
        catch (Exception e) when (e is OperationCanceledException or Replication.CommandTimeoutException)
        {
            // We no longer use it either way: unreleased, it expires after its time to live.
            throw new LeaseTimeoutException($"lease {Settings.LeaseName}: release by {Settings.OwnerName} timed out", e);
        }
    }

    public override bool CheckLease()
    {
        lock (_gate) return _belief.Holds(Stopwatch.GetTimestamp());
    }

    private async Task RenewAsync(LeaseService leases)
    {
        long token;
        lock (_gate)
        {
            if (_belief.Current is not { } held) return;
            token = held.Token;
            if (!_belief.Holds(Stopwatch.GetTimestamp()))
            {
                LostLocked(token, $"no renewal succeeded within {_believed.TotalMilliseconds:0} ms");
                return;
            }
        }
        long sentAt = Stopwatch.GetTimestamp();
        try
        {
            using var timeout = new CancellationTokenSource(Settings.TimeoutSettings.HeartbeatInterval * 2);
            var result = await leases.RenewAsync(Settings.LeaseName, Settings.OwnerName, token, _ttl, timeout.Token);
            lock (_gate)
            {
                if (result.Ok) _belief.Renewed(token, result.Version ?? 0, sentAt);
                else LostLocked(token, result.Owner is null ? "it expired" : $"{result.Owner} holds it with token {result.Token}");
            }
        }
        catch (Exception e)
        {
            _log.Debug("lease {0}: a renewal by {1} did not complete ({2})", Settings.LeaseName, Settings.OwnerName, e.Message);
        }
    }

    /// <summary>Under <see cref="_gate"/>: the lease of <paramref name="token"/> is no longer ours; the callback runs
    /// once, off the lock's thread.</summary>
    private void LostLocked(long token, string why)
    {
        if (_belief.Current?.Token != token) return;
        var callback = _lost;
        Stop();
        _log.Warning("lease {0}: {1} lost it (token {2}): {3}", Settings.LeaseName, Settings.OwnerName, token, why);
        var lost = new LeaseException($"lease {Settings.LeaseName}: {Settings.OwnerName} lost it (token {token}): {why}");
        if (callback is not null) Task.Run(() => callback(lost));
    }

    /// <summary>Under <see cref="_gate"/>.</summary>
    private void Stop()
    {
        _belief.Forget();
        _lost = null;
        _renewals?.Cancel();
        _renewals = null;
    }

    private async Task<LeaseService> ServiceAsync()
    {
        NodeContext node;
        try
        {
            node = await PaxosNodeExtension.Get(_system).Node.WaitAsync(Settings.TimeoutSettings.OperationTimeout);
        }
        catch (TimeoutException e)
        {
            throw new LeaseTimeoutException($"lease {Settings.LeaseName}: no Paxos node started in this ActorSystem within {Settings.TimeoutSettings.OperationTimeout}", e);
        }
        return node.Service<LeaseService>()
               ?? throw new LeaseException($"lease {Settings.LeaseName}: this node does not run the {LeaseRole.RoleName} role (akka.cluster.roles)");
    }
}
