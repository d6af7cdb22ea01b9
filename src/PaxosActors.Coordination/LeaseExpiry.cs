using System.Diagnostics;
using Akka.Actor;
using Akka.Event;

namespace PaxosActors.Coordination;

/// <summary>
/// Expires leases through the log, on every node that runs the paxos-lease role. For each held lease version it sees
/// in this node's <see cref="LeaseView"/>, it starts counting on its own monotonic clock; once the version's time to
/// live has passed, it proposes <c>expire</c> for that version. The table frees the lease only if no renewal came
/// first, so one node's clock never decides alone: it can only propose, and only after the holder's renewal (which
/// the holder timed from before it sent it) was chosen and applied here.
/// </summary>
public sealed class LeaseExpiry : ReceiveActor, IWithTimers
{
    private readonly LeaseService _leases;
    private readonly ExpiryWatch _watch = new(Stopwatch.Frequency / 1000.0);
    private readonly ILoggingAdapter _log = Context.GetLogger();

    public LeaseExpiry(LeaseService leases, TimeSpan checkInterval)
    {
        _leases = leases;
        Receive<Check>(_ => Look());
        Receive<Proposed>(p =>
        {
            _watch.Done(p.Key);
            if (p.Error is { } error) _log.Debug("lease {0}: expiry of version {1} not applied yet ({2})", p.Key.Lease, p.Key.Version, error);
        });
        Timers!.StartPeriodicTimer("check", Check.Instance, checkInterval);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(LeaseService leases, TimeSpan checkInterval) =>
        Akka.Actor.Props.Create(() => new LeaseExpiry(leases, checkInterval));

    private void Look()
    {
        var held = _leases.View.Current.Leases;
        foreach (var key in _watch.Due(held, Stopwatch.GetTimestamp()))
        {
            var lease = held[key.Lease];
            _log.Info("lease {0}: {1} (token {2}) did not renew within {3} ms; proposing its expiry", key.Lease, lease.Owner, lease.Token, lease.TtlMs);
            _leases.ExpireAsync(key.Lease, key.Version).PipeTo(Self,
                success: _ => new Proposed(key, null),
                failure: e => new Proposed(key, e.Message));
        }
    }

    private sealed class Check
    {
        public static readonly Check Instance = new();
    }

    private sealed record Proposed((string Lease, long Version) Key, string? Error);
}
