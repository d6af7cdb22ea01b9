using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Learners;

/// <summary>What a learner writes to its journal: a value it knows to be chosen.</summary>
public sealed record Learned(long Slot, SlotValue Value) : IJournalRecord;

/// <summary>How a learner catches up and snapshots.</summary>
public sealed record LearnerOptions
{
    /// <summary>The state machine can be captured whole and restored (for snapshots, so the journals can be compacted,
    /// and to bring a far-behind learner up to date). Without it the learner never snapshots and keeps every value.</summary>
    public bool Snapshots { get; init; } = true;

    /// <summary>Applied slots between two snapshots of the state machine (0: never). Each snapshot lets the journal below
    /// it go, and then this node's acceptor its entries below it.</summary>
    public int SnapshotEvery { get; init; } = 10_000;

    /// <summary>Also snapshot once the values applied since the last snapshot reach this many bytes (commands' bytes,
    /// <see cref="SlotValue.ByteSize"/>; 0: by slots only). With large values a count of slots is no bound on memory:
    /// this node's acceptor keeps every accepted value in memory until it compacts below a snapshot.</summary>
    public long SnapshotEveryBytes { get; init; }

    /// <summary>Tell this node's acceptor to compact below each durable snapshot (off on a node without one).</summary>
    public bool CompactAcceptor { get; init; } = true;

    /// <summary>Ticks a gap may stay open before the learner asks a peer for the missing slots.</summary>
    public int CatchUpTicks { get; init; } = 10;

    /// <summary>Ticks between catch-up probes of a learner that does not know it is behind (0: never).
    /// A learner that missed the announcement of the last chosen slot has no gap to notice, and in Basic
    /// Paxos no leader heartbeat tells it the log moved on; the probe is how it finds out.</summary>
    public int IdleProbeTicks { get; init; } = 50;

    /// <summary>Most values in one <see cref="ChosenRange"/> reply.</summary>
    public int MaxCatchUpBatch { get; init; } = 1024;

    /// <summary>Most bytes of values in one <see cref="ChosenRange"/> reply (at least one value is sent; 0: no bound).</summary>
    public long MaxCatchUpBytes { get; init; }

    /// <summary>Slots between a reconfiguration and the first slot it governs; the same on every node
    /// (<see cref="MembershipHistory.DefaultAlpha"/>; only tests change it).</summary>
    public int ReconfigurationAlpha { get; init; } = MembershipHistory.DefaultAlpha;

    /// <summary>BROKEN on purpose, the negative control of the simulation only
    /// (<see cref="MembershipHistory.UnsafeMatchChangesByValue"/>): a copy of a change chosen after A -> B -> A applies
    /// again. Never set outside it.</summary>
    public bool UnsafeMatchChangesByValue { get; init; }

    /// <summary>Applied values kept in memory to answer peers' catch-up requests.</summary>
    public int RetainedValues { get; init; } = 100_000;

    /// <summary>Most bytes of applied values kept in memory to answer catch-up requests (0: no bound but the count); the
    /// newest value is kept whatever its size. A peer behind what is retained gets the whole state instead.</summary>
    public long RetainedBytes { get; init; }
}

/// <summary>
/// A learner (Paxos Made Simple §2.3). On the proposer's node it is the "distinguished learner":
/// it counts <see cref="Accepted"/> votes per (slot, ballot) from distinct acceptors, declares the value
/// chosen at a quorum and tells every other learner. Every learner hands chosen values to the shell in slot order
/// (<see cref="Ready.Apply"/>), and fetches missing slots from peers. Its journal (<see cref="Learned"/>, in
/// <see cref="Ready.Cache"/>) is a cache of what a quorum of acceptors already holds, so nothing waits for it.
/// </summary>
public sealed class Learner : IAgent
{
    private readonly MembershipHistory _configs;
    private readonly ImmutableArray<int> _staticPeers; // nodes with a learner named in settings, this one included
    private ImmutableArray<int> _peers;               // those and every member of the latest configuration
    private readonly LearnerOptions _options;

    private readonly Dictionary<long, SlotValue> _decided = new();              // chosen, not yet applied (a gap before them)
    private readonly Dictionary<long, Dictionary<Ballot, Tally>> _tallies = new(); // votes for undecided slots
    private readonly List<SlotValue> _retained = new();                          // applied values from _retainedFrom on
    private long _retainedFrom;
    private long _retainedBytes;       // ByteSize of the values in _retained
    private long _bytesSinceSnapshot;  // ByteSize of the values applied since the last snapshot
    private readonly ReadyBuilder _ready = new();
    private bool _recovering = true;
    private long _snapshotAt;
    private bool _snapshotDue;
    private bool _progressed;
    private bool _reportRestart; // the next progress report is this incarnation's first
    private MembershipEpoch? _reportedEpoch;
    private bool _warnedSeed;
    private readonly Membership _seed;
    private long _now;
    private long _gapSince = -1;
    private long _lastProbe;
    private long _leaderFirstUnchosen;
    private int _leader = -1;
    private int _catchUpCursor;

    public Learner(int id, Membership seed, IEnumerable<int> peers, LearnerOptions options)
    {
        Id = AgentId.Learner(id);
        _configs = new MembershipHistory(seed, options.ReconfigurationAlpha) { UnsafeMatchChangesByValue = options.UnsafeMatchChangesByValue };
        _seed = seed;
        _staticPeers = peers.ToImmutableArray();
        _options = options;
        UpdatePeers();
    }

    public Learner(int id, QuorumSet acceptors, IEnumerable<int> peers, LearnerOptions options)
        : this(id, new Membership(acceptors.Members, peers), peers, options) { }

    public AgentId Id { get; }

    /// <summary>Which configuration governs which slot, as far as this learner has applied the log.</summary>
    public MembershipHistory Configurations => _configs;

    public int Node => Id.Node;

    /// <summary>Slots below this are applied. Invariant: every slot below it was applied exactly once, in order.</summary>
    public long NextToApply { get; private set; }

    /// <summary>Highest slot known chosen, whether applied or waiting behind a gap (-1: none).</summary>
    public long HighestDecided { get; private set; } = -1;

    /// <summary>The first slot the leader's latest heartbeat said is not chosen yet: how far the log is known to reach.</summary>
    public long LeaderFirstUnchosen => _leaderFirstUnchosen;

    public void Recover(IJournalRecord record)
    {
        switch (record)
        {
            case LearnerSnapshot snapshot:
                // The state machine gets the snapshot with the first step's Ready, before the values replayed after it.
                JumpTo(snapshot.NextToApply, snapshot.Configurations);
                _snapshotAt = snapshot.NextToApply;
                _ready.Install(new StateInstall(snapshot.NextToApply, snapshot.State));
                break;
            case Learned learned:
                Decide(learned.Slot, learned.Value, announce: false, journal: false);
                break;
        }
    }

    public Ready Step(IInput input)
    {
        if (input is Recovered)
        {
            if (_recovering)
            {
                _recovering = false;
                // What replay decided is in this step's Apply; the proposer learns where the log stands.
                _progressed = true;
                _reportRestart = true;
            }
        }
        else if (!_recovering)
        {
            switch (input)
            {
                case Tick: OnTick(); break;
                case Accepted m: Handle(m); break;
                case Accept m: Handle(m); break;
                case Chosen m: Decide(m.Slot, m.Value, announce: false); break;
                case ChosenRange m: Handle(m); break;
                case CatchUp m: Handle(m); break;
                case Heartbeat m: Handle(m); break;
                case StateTransfer m: Handle(m); break;
                case SnapshotSaved m: OnSnapshotSaved(m.NextToApply); break;
                case ProgressQuery: _progressed = true; break;
            }
        }
        if (_progressed && !_recovering)
        {
            _progressed = false;
            ReportProgress();
        }
        if (_snapshotDue)
        {
            // At the end of the step: the state machine holds every slot this step applied, not only those before the
            // one that made the snapshot due.
            _snapshotDue = false;
            _snapshotAt = NextToApply;
            _bytesSinceSnapshot = 0;
            _ready.SnapshotAt(NextToApply);
        }
        return _ready.Take();
    }

    /// <summary>A proposer on this node sent an Accept: now a vote for (slot, ballot) has a value.</summary>
    private void Handle(Accept accept)
    {
        if (accept.Slot < NextToApply || _decided.ContainsKey(accept.Slot))
        {
            // Our proposer is (re)proposing a slot we know is chosen: typically it restarted and lost
            // FirstUnchosen. The votes for it would be ignored here, so without this answer the slot
            // stays in flight forever and fills the proposer's window.
            if (KnownChosen(accept.Slot) is { } chosen) Send(AgentId.Proposer(Node), new Chosen(accept.Slot, chosen));
            return;
        }
        var tally = TallyFor(accept.Slot, accept.Ballot);
        tally.Value ??= accept.Value;
        DecideIfQuorum(accept.Slot, tally);
    }

    /// <summary>An acceptor's vote. Duplicates change nothing; only acceptors of the configuration that governs the slot
    /// count, and not before that configuration is known.</summary>
    private void Handle(Accepted accepted)
    {
        if (accepted.Slot < NextToApply || _decided.ContainsKey(accepted.Slot)) return;
        var tally = TallyFor(accepted.Slot, accepted.Ballot);
        if (tally.Voters.Add(accepted.Acceptor)) DecideIfQuorum(accepted.Slot, tally);
    }

    private void DecideIfQuorum(long slot, Tally tally)
    {
        if (tally.Value is null || !_configs.Knows(slot)) return;
        var config = _configs.At(slot);
        if (config.CountVotes(tally.Voters) >= config.Majority) Decide(slot, tally.Value, announce: true);
    }

    private void Handle(ChosenRange range)
    {
        for (int i = 0; i < range.Values.Length; i++) Decide(range.FromSlot + i, range.Values[i], announce: false);
    }

    /// <summary>A peer asks for what it missed; answer from the retained values, or with the whole
    /// applied state when it is behind what this learner still retains.</summary>
    private void Handle(CatchUp request)
    {
        if (request.Learner == Node || request.FromSlot >= NextToApply) return;
        if (request.FromSlot < _retainedFrom)
        {
            if (_options.Snapshots) _ready.SendStateTo(request.Learner);
            return;
        }
        long from = request.FromSlot;
        int start = (int)(from - _retainedFrom);
        int count = (int)Math.Min(_options.MaxCatchUpBatch, NextToApply - from);
        if (_options.MaxCatchUpBytes > 0)
        {
            long bytes = _retained[start].ByteSize;
            int fit = 1;
            while (fit < count && (bytes += _retained[start + fit].ByteSize) <= _options.MaxCatchUpBytes) fit++;
            count = fit;
        }
        Send(AgentId.Learner(request.Learner), new ChosenRange(from, _retained.GetRange(start, count).ToImmutableArray()));
    }

    /// <summary>The leader's heartbeat says how far the log is chosen, so an idle learner still notices it is behind.</summary>
    private void Handle(Heartbeat heartbeat)
    {
        _leader = heartbeat.Ballot.Proposer;
        _leaderFirstUnchosen = Math.Max(_leaderFirstUnchosen, heartbeat.FirstUnchosen);
        if (_leaderFirstUnchosen > NextToApply && _gapSince < 0) _gapSince = _now;
    }

    private void OnTick()
    {
        _now++;
        bool behind = HighestDecided >= NextToApply || _leaderFirstUnchosen > NextToApply;
        if (!behind)
        {
            _gapSince = -1;
            if (_options.IdleProbeTicks > 0 && _now - _lastProbe >= _options.IdleProbeTicks)
            {
                _lastProbe = _now;
                int probed = PickCatchUpPeer(); // a peer that has nothing newer does not answer
                if (probed >= 0) Send(AgentId.Learner(probed), new CatchUp(Node, NextToApply));
            }
            return;
        }
        if (_gapSince < 0) { _gapSince = _now; return; }
        if (_now - _gapSince < _options.CatchUpTicks) return;
        _gapSince = _now;
        int peer = PickCatchUpPeer();
        if (peer >= 0) Send(AgentId.Learner(peer), new CatchUp(Node, NextToApply));
    }

    /// <summary>A peer's whole applied state: for a learner too far behind to replay slots one by one. What the journal
    /// holds no longer leads here, so it is snapshotted at once; and the proposer learns how far the log is chosen.</summary>
    private void Handle(StateTransfer transfer)
    {
        if (transfer.NextToApply <= NextToApply || !_options.Snapshots) return;
        JumpTo(transfer.NextToApply, transfer.Configurations);
        _ready.Install(new StateInstall(transfer.NextToApply, transfer.State));
        ApplyDecided();
        _snapshotDue = true;
        _progressed = true;
    }

    /// <summary>The snapshot at <paramref name="nextToApply"/> is durable: this node's acceptor may forget the slots below.</summary>
    private void OnSnapshotSaved(long nextToApply)
    {
        if (_options.CompactAcceptor && nextToApply <= NextToApply) Send(AgentId.Acceptor(Node), new CompactBelow(nextToApply));
    }

    private void JumpTo(long nextToApply, ImmutableArray<MembershipEpoch> configurations)
    {
        if (!configurations.IsDefaultOrEmpty) _configs.Reset(configurations, nextToApply);
        else _configs.Reset(_configs.Epochs, nextToApply); // a state from before reconfiguration existed keeps the seed
        UpdatePeers();
        NextToApply = nextToApply;
        HighestDecided = Math.Max(HighestDecided, nextToApply - 1);
        foreach (long slot in _decided.Keys.Where(k => k < nextToApply).ToList()) _decided.Remove(slot);
        foreach (long slot in _tallies.Keys.Where(k => k < nextToApply).ToList()) _tallies.Remove(slot);
        _retained.Clear();
        _retainedBytes = 0;
        _bytesSinceSnapshot = 0;
        _retainedFrom = nextToApply;
        _gapSince = -1;
    }

    private void Decide(long slot, SlotValue value, bool announce, bool journal = true)
    {
        if (slot < NextToApply || _decided.ContainsKey(slot)) return;
        _decided[slot] = value;
        _tallies.Remove(slot);
        HighestDecided = Math.Max(HighestDecided, slot);
        if (!_recovering)
        {
            if (journal) _ready.Cache(new Learned(slot, value));
            var chosen = new Chosen(slot, value);
            if (announce)
                foreach (int p in _peers)
                    if (p != Node) Send(AgentId.Learner(p), chosen);
            Send(AgentId.Proposer(Node), chosen);
        }
        ApplyDecided();
    }

    /// <summary>Hands every decided slot with no gap before it to the shell, in order; snapshots when one is due.</summary>
    private void ApplyDecided()
    {
        long knewThrough = _configs.KnownThrough;
        while (_decided.Remove(NextToApply, out var next))
        {
            _ready.Apply(NextToApply, next);
            if (_configs.Apply(NextToApply, next) is { } epoch)
            {
                UpdatePeers();
                if (!_recovering)
                    _ready.Notice(NoticeLevel.Info, $"learner {Node}: slot {NextToApply} changes the configuration to {epoch.Membership} from slot {epoch.EffectiveFrom}");
            }
            _retained.Add(next);
            int size = next.ByteSize;
            _retainedBytes += size;
            _bytesSinceSnapshot += size;
            NextToApply++;
            _progressed = true;
        }
        if (_configs.KnownThrough > knewThrough)
        {
            // Votes that waited for the configuration of their slot can be counted now.
            var waiting = _tallies.Keys.Where(slot => slot >= knewThrough && slot < _configs.KnownThrough).Order().ToList();
            foreach (long slot in waiting)
                if (_tallies.TryGetValue(slot, out var byBallot))
                    foreach (var tally in byBallot.Values.ToList())
                        if (!_decided.ContainsKey(slot) && slot >= NextToApply) DecideIfQuorum(slot, tally);
        }
        long maxBytes = _options.RetainedBytes;
        if (_retained.Count > _options.RetainedValues + _options.RetainedValues / 4 ||
            (maxBytes > 0 && _retainedBytes > maxBytes + maxBytes / 4))
        {
            // In chunks (RemoveRange copies the rest): down to RetainedValues and RetainedBytes, the newest value kept.
            int drop = Math.Max(0, _retained.Count - _options.RetainedValues);
            long bytes = _retainedBytes;
            for (int i = 0; i < drop; i++) bytes -= _retained[i].ByteSize;
            while (maxBytes > 0 && bytes > maxBytes && drop < _retained.Count - 1) bytes -= _retained[drop++].ByteSize;
            _retained.RemoveRange(0, drop);
            _retainedFrom += drop;
            _retainedBytes = bytes;
        }
        if (!_recovering && _options.Snapshots &&
            ((_options.SnapshotEvery > 0 && NextToApply - _snapshotAt >= _options.SnapshotEvery) ||
             (_options.SnapshotEveryBytes > 0 && _bytesSinceSnapshot >= _options.SnapshotEveryBytes)))
            _snapshotDue = true;
    }

    private SlotValue? KnownChosen(long slot) =>
        _decided.TryGetValue(slot, out var v) ? v
        : slot >= _retainedFrom && slot < NextToApply ? _retained[(int)(slot - _retainedFrom)]
        : null;

    private int PickCatchUpPeer()
    {
        if (_leader >= 0 && _leader != Node && _catchUpCursor++ % 2 == 0) return _leader;
        for (int i = 0; i < _peers.Length; i++)
        {
            int p = _peers[(_catchUpCursor + i) % _peers.Length];
            if (p != Node) { _catchUpCursor += i + 1; return p; }
        }
        return -1;
    }

    private Tally TallyFor(long slot, Ballot ballot)
    {
        if (!_tallies.TryGetValue(slot, out var byBallot)) _tallies[slot] = byBallot = new();
        if (!byBallot.TryGetValue(ballot, out var tally)) byBallot[ballot] = tally = new Tally();
        return tally;
    }

    /// <summary>Tells this node's proposer how far the log is applied here and which configurations govern the slots it
    /// may propose in: it never proposes in a slot whose configuration it has not been told.</summary>
    private void ReportProgress()
    {
        if (!_configs.LatestEpoch.Equals(_reportedEpoch))
        {
            _reportedEpoch = _configs.LatestEpoch;
            if (_options.CompactAcceptor) Send(AgentId.Acceptor(Node), new MembershipKnown(_configs.Epochs, _configs.AppliedThrough));
            if (!_configs.Latest.Acceptors.SequenceEqual(_seed.Acceptors) && !_warnedSeed)
            {
                _warnedSeed = true;
                _ready.Notice(NoticeLevel.Warning, $"learner {Node}: the configured membership ({_seed}) is not the one chosen " +
                    $"through the log ({_configs.Latest}, from slot {_configs.LatestEpoch.EffectiveFrom}); the chosen one is used");
            }
        }
        Send(AgentId.Proposer(Node), new LearnerProgress(NextToApply) { Configurations = _configs.Epochs, Restarted = _reportRestart });
        _reportRestart = false;
    }

    private void UpdatePeers() =>
        _peers = _staticPeers.Concat(_configs.Latest.Members).Append(Node).Distinct().Order().ToImmutableArray();

    private void Send(AgentId to, IInput message) => _ready.Send(to, message);

    private sealed class Tally
    {
        public HashSet<int> Voters { get; } = new();
        public SlotValue? Value { get; set; }
    }
}

/// <summary>A learner's durable snapshot: the state machine's bytes with every slot below
/// <paramref name="NextToApply"/> applied, and the configurations that govern the slots from there on. The journal
/// below it is deleted.</summary>
public sealed record LearnerSnapshot(long NextToApply, byte[] State) : IJournalRecord
{
    /// <summary>The configuration epochs that govern slots from <see cref="NextToApply"/> on (empty: the seed's).</summary>
    public ImmutableArray<MembershipEpoch> Configurations { get; init; } = ImmutableArray<MembershipEpoch>.Empty;

    public bool Equals(LearnerSnapshot? other) =>
        other is not null && NextToApply == other.NextToApply && State.AsSpan().SequenceEqual(other.State);

    public override int GetHashCode() => HashCode.Combine(NextToApply, State.Length);
}
