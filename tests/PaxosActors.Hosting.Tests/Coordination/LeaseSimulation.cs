using System.Collections.Immutable;
using PaxosActors.Coordination;
using PaxosActors.Replication;

namespace PaxosActors.Hosting.Tests.Coordination;

/// <summary>
/// The lease protocol under faults, simulated: the real <see cref="LeaseTable"/>, <see cref="LeaseBelief"/> (what a
/// holder may believe, as <see cref="PaxosLease"/> decides it) and <see cref="ExpiryWatch"/> (when a node proposes an
/// expiry, as <see cref="LeaseExpiry"/> decides it) on nodes whose monotonic clocks run at different rates, over a log
/// that stands for Paxos (one order of commands, each chosen some milliseconds after it was proposed, applied on each
/// node a little later). Faults: pauses (a frozen process whose clock keeps running), kills (a node loses everything
/// but its owner name, as a restarted ActorSystem on the same address), partitions (a node's proposals and the log's
/// news wait until it heals; a proposal it gave up on may still be chosen then). After every step it checks that no two
/// nodes believe they hold the lease at once, that a believer's token is the one the log's latest state gives its
/// owner, and that every grant's token is larger than all before it.
/// </summary>
public sealed class LeaseSimulation
{
    private const string Lease = "lease";
    private const long TtlMs = 1500, HeartbeatMs = 200, CheckMs = 100, StepMs = 5, RequestTimeoutMs = 3000;

    private readonly Random _random;
    private readonly double _beliefShare;
    private readonly List<SimNode> _nodes;
    private readonly LeaseTable _table;
    private readonly LeaseView _tableView = new();
    private readonly List<ImmutableSortedDictionary<string, LeaseTable.Held>> _states = [];
    private readonly List<(long ChosenAt, int From, long Seq, LeaseResult Result)> _log = [];
    private readonly List<Pending> _inFlight = [];
    private readonly Queue<string> _history = new();
    private long _now;

    /// <summary>The last commands the log chose, for a failure message.</summary>
    public string History => string.Join(" | ", _history);
    private long _lastToken;

    public LeaseSimulation(int seed, double minRate, double maxRate, double maxClockDrift = 0.1, int nodes = 3)
    {
        _random = new Random(seed);
        _beliefShare = 1 - maxClockDrift;
        _table = new LeaseTable(_tableView);
        _states.Add(_tableView.Current.Leases);
        _nodes = Enumerable.Range(1, nodes).Select(i => new SimNode(i, minRate + _random.NextDouble() * (maxRate - minRate), _random.NextDouble() * 1e6)).ToList();
        foreach (var n in _nodes) Reset(n);
    }

    public int Grants { get; private set; }
    public int Renewals { get; private set; }
    public int Expiries { get; private set; }
    public int Releases { get; private set; }
    public int Pauses { get; private set; }
    public int Kills { get; private set; }
    public int Partitions { get; private set; }
    public long MaxToken => _lastToken;
    public List<string> Violations { get; } = [];

    /// <summary>Runs <paramref name="simulatedMs"/> of simulated time; stops at the first violation.</summary>
    public void Run(long simulatedMs)
    {
        for (_now = 0; _now < simulatedMs && Violations.Count == 0; _now += StepMs)
        {
            InjectFaults();
            Choose();
            foreach (var n in _nodes.Where(n => n.Alive && _now >= n.PausedUntil)) Act(n);
            Check();
        }
    }

    private sealed class SimNode(int id, double rate, double offset)
    {
        public int Id { get; } = id;
        public string Owner => $"127.0.0.1:{4000 + Id}";
        public double Rate { get; } = rate;
        public double Offset { get; } = offset;
        public bool Alive = true;
        public long DownUntil, PausedUntil, PartitionedUntil;
        public long Applied; // how many log entries this node's learner applied
        public LeaseBelief Belief = null!;
        public ExpiryWatch Watch = null!;
        public long NextRenewAt, NextCheckAt, ReleaseAt, NextTryAt;
        public bool Acquiring, Renewing;
        public long LastBelievedToken;
        public readonly List<(long Seq, long ProposedAt, Action<LeaseResult?> OnResult)> Waiting = [];
        public long Seq;
    }

    private sealed record Pending(int From, long Seq, LeaseCommand Command, long ProposedAt, long ChooseAt);

    /// <summary>The node's monotonic clock, in microseconds, now.</summary>
    private long Local(SimNode n) => (long)((n.Offset + n.Rate * _now) * 1000);

    private void Reset(SimNode n)
    {
        n.Belief = new LeaseBelief((long)(_beliefShare * TtlMs * 1000));
        n.Watch = new ExpiryWatch(1000);
        n.Waiting.Clear();
        n.Acquiring = n.Renewing = false;
        n.NextTryAt = Local(n) + _random.Next(0, 500) * 1000L;
        n.NextCheckAt = Local(n);
    }

    private void InjectFaults()
    {
        foreach (var n in _nodes)
        {
            if (!n.Alive && _now >= n.DownUntil)
            {
                n.Alive = true;
                Reset(n);
            }
            if (!n.Alive || _random.NextDouble() > 0.0015) continue; // about one fault per node every 3.3 s
            switch (_random.Next(3))
            {
                case 0:
                    n.PausedUntil = _now + _random.Next(300, 4000); // a GC pause or a stopped container: the clock runs on
                    Pauses++;
                    break;
                case 1:
                    n.Alive = false;                                  // a crash: everything in memory is gone
                    n.DownUntil = _now + _random.Next(500, 3000);
                    n.Belief.Forget();
                    Kills++;
                    break;
                default:
                    n.PartitionedUntil = _now + _random.Next(500, 4000); // cut off: proposals and news wait
                    Partitions++;
                    break;
            }
        }
    }

    /// <summary>Proposes through the log; <paramref name="onResult"/> gets the result once this node applied it, or null
    /// when the request timed out first (its outcome then unknown to the node, as CommandClient's).</summary>
    private void Propose(SimNode n, LeaseCommand command, Action<LeaseResult?> onResult)
    {
        long seq = ++n.Seq;
        n.Waiting.Add((seq, _now, onResult));
        _inFlight.Add(new Pending(n.Id, seq, command, _now, _now + _random.Next(2, 30)));
    }

    /// <summary>The log: proposals from connected nodes are chosen in order; a partitioned node's wait, and one given up
    /// on is still chosen at heal time half of the time (a proposer may hold it).</summary>
    private void Choose()
    {
        foreach (var p in _inFlight.OrderBy(p => p.ChooseAt).ThenBy(p => p.From).ToList())
        {
            var from = _nodes[p.From - 1];
            if (_now < p.ChooseAt) continue;
            bool cut = _now < from.PartitionedUntil;
            bool gaveUp = _now - p.ProposedAt > RequestTimeoutMs;
            if (cut && !gaveUp) continue;
            _inFlight.Remove(p);
            if (gaveUp && _random.Next(2) == 0) continue; // lost with its proposer
            var result = LeaseJson.Decode<LeaseResult>(_table.Apply(new ReplicatedCommand(_log.Count + 1, 0, LeaseJson.Encode(p.Command), null)).Bytes.Span);
            Account(p.Command, result, _tableView.Current.Leases);
            _history.Enqueue($"{_now}ms n{p.From} {p.Command.Op} v{p.Command.Version} t{p.Command.Token} (proposed {p.ProposedAt}ms) -> ok={result.Ok} {result.Owner} t{result.Token} v{result.Version}");
            if (_history.Count > 6) _history.Dequeue();
            _log.Add((_now, p.From, p.Seq, result));
            _states.Add(_tableView.Current.Leases);
        }
    }

    private void Account(LeaseCommand c, LeaseResult r, ImmutableSortedDictionary<string, LeaseTable.Held> after)
    {
        if (!r.Ok) return;
        _states[^1].TryGetValue(Lease, out var before);
        switch (c.Op)
        {
            case LeaseCommand.Acquire when before is null:
                Grants++;
                if (r.Token is not { } token || token <= _lastToken)
                    Violations.Add($"at {_now} ms a grant to {c.Owner} took token {r.Token}, not above {_lastToken}");
                else _lastToken = token;
                break;
            case LeaseCommand.Acquire or LeaseCommand.Renew:
                Renewals++;
                if (r.Token != before?.Token) Violations.Add($"at {_now} ms a renewal by {c.Owner} changed the token from {before?.Token} to {r.Token}");
                break;
            case LeaseCommand.Expire: Expiries++; break;
            case LeaseCommand.Release: Releases++; break;
        }
        if (after.Count > 1) Violations.Add("a lease table with one lease name holds several");
    }

    /// <summary>One node's step: learn what the log applied (unless cut off), hear results, and act as PaxosLease and
    /// LeaseExpiry would.</summary>
    private void Act(SimNode n)
    {
        if (_now >= n.PartitionedUntil)
        {
            // The learner applies what was chosen at least a few ms ago; results of this node's proposals arrive with it.
            while (n.Applied < _log.Count && _now - _log[(int)n.Applied].ChosenAt >= 3)
            {
                var entry = _log[(int)n.Applied];
                n.Applied++;
                if (entry.From != n.Id) continue;
                int i = n.Waiting.FindIndex(w => w.Seq == entry.Seq);
                if (i < 0) continue;
                var onResult = n.Waiting[i].OnResult;
                n.Waiting.RemoveAt(i);
                onResult(entry.Result);
            }
        }
        foreach (var timedOut in n.Waiting.Where(w => _now - w.ProposedAt > RequestTimeoutMs).ToList())
        {
            n.Waiting.Remove(timedOut);
            timedOut.OnResult(null);
        }
        long local = Local(n);
        // Expiry, as LeaseExpiry: every check interval, propose the expiry of versions due on this node's clock.
        if (local >= n.NextCheckAt)
        {
            n.NextCheckAt = local + CheckMs * 1000;
            foreach (var key in n.Watch.Due(_states[(int)n.Applied], local))
                Propose(n, new LeaseCommand(LeaseCommand.Expire, key.Lease, Version: key.Version), _ => n.Watch.Done(key));
        }
        // The holder, as PaxosLease.
        if (n.Belief.Current is { } held)
        {
            if (!n.Belief.Holds(local)) n.Belief.Forget(); // no renewal in time: lost
            else if (local >= n.ReleaseAt)
            {
                n.Belief.Forget();
                Propose(n, new LeaseCommand(LeaseCommand.Release, Lease, n.Owner, held.Token, Version: held.Version), _ => { });
            }
            else if (local >= n.NextRenewAt && !n.Renewing)
            {
                n.NextRenewAt = local + HeartbeatMs * 1000;
                n.Renewing = true;
                long sentAt = local;
                Propose(n, new LeaseCommand(LeaseCommand.Renew, Lease, n.Owner, held.Token, TtlMs), r =>
                {
                    n.Renewing = false;
                    if (r is null) return; // timed out: try again at the next heartbeat while still believed
                    if (r.Ok) n.Belief.Renewed(held.Token, r.Version ?? 0, sentAt);
                    else if (n.Belief.Current?.Token == held.Token) n.Belief.Forget();
                });
            }
        }
        else if (!n.Acquiring && local >= n.NextTryAt)
        {
            n.Acquiring = true;
            long sentAt = local;
            Propose(n, new LeaseCommand(LeaseCommand.Acquire, Lease, n.Owner, TtlMs: TtlMs), r =>
            {
                n.Acquiring = false;
                n.NextTryAt = Local(n) + _random.Next(50, 400) * 1000L;
                if (r is { Ok: true, Token: { } token })
                {
                    n.Belief.Granted(token, r.Version ?? 0, r.GrantedInSlot ?? 0, sentAt);
                    n.NextRenewAt = Local(n) + HeartbeatMs * 1000;
                    n.ReleaseAt = Local(n) + _random.Next(300, 2500) * 1000L;
                }
            });
        }
    }

    private void Check()
    {
        var believers = _nodes.Where(n => n.Alive && n.Belief.Holds(Local(n))).ToList();
        if (believers.Count > 1)
            Violations.Add($"at {_now} ms nodes {string.Join(" and ", believers.Select(b => $"{b.Id} (token {b.Belief.Current!.Value.Token})"))} both believe they hold the lease");
        _states[^1].TryGetValue(Lease, out var latest);
        foreach (var b in believers)
        {
            long token = b.Belief.Current!.Value.Token;
            if (latest is null || latest.Owner != b.Owner || latest.Token != token)
                Violations.Add($"at {_now} ms node {b.Id} believes it holds token {token}, but the log says {latest?.Owner ?? "nobody"} holds {latest?.Token}");
            if (token < b.LastBelievedToken)
                Violations.Add($"at {_now} ms node {b.Id}'s token went back from {b.LastBelievedToken} to {token}");
            b.LastBelievedToken = token;
        }
    }
}
