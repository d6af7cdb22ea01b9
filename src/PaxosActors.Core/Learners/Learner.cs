using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Learners;

/// <summary>What a learner writes to its journal: a value it knows to be chosen.</summary>
public sealed record Learned(long Slot, SlotValue Value);

/// <summary>The work one learner step leaves for the shell: persist <see cref="Events"/> (a cache of
/// what is already durable at a quorum of acceptors, so no message waits for it), send <see cref="Messages"/>.</summary>
public sealed class LearnerReady
{
    public List<Learned> Events { get; } = new();
    public List<Envelope> Messages { get; } = new();
}

/// <summary>How a learner catches up.</summary>
public sealed record LearnerOptions
{
    /// <summary>Ticks a gap may stay open before the learner asks a peer for the missing slots.</summary>
    public int CatchUpTicks { get; init; } = 10;

    /// <summary>Ticks between catch-up probes of a learner that does not know it is behind (0: never).
    /// A learner that missed the announcement of the last chosen slot has no gap to notice, and in Basic
    /// Paxos no leader heartbeat tells it the log moved on; the probe is how it finds out.</summary>
    public int IdleProbeTicks { get; init; } = 50;

    /// <summary>Most values in one <see cref="ChosenRange"/> reply.</summary>
    public int MaxCatchUpBatch { get; init; } = 1024;

    /// <summary>Applied values kept in memory to answer peers' catch-up requests.</summary>
    public int RetainedValues { get; init; } = 100_000;
}

/// <summary>
/// A learner (Paxos Made Simple §2.3). On the proposer's node it is the "distinguished learner":
/// it counts <see cref="Accepted"/> votes per (slot, ballot) from distinct acceptors, declares the value
/// chosen at a quorum and tells every other learner. Every learner applies chosen values in slot
/// order to its state machine, and fetches missing slots from peers.
/// </summary>
public sealed class Learner
{
    private readonly QuorumSet _acceptors;
    private readonly ImmutableArray<int> _peers; // every node with a learner, this one included
    private readonly LearnerOptions _options;
    private readonly IStateMachine _stateMachine;

    private readonly Dictionary<long, SlotValue> _decided = new();              // chosen, not yet applied (a gap before them)
    private readonly Dictionary<long, Dictionary<Ballot, Tally>> _tallies = new(); // votes for undecided slots
    private readonly List<SlotValue> _retained = new();                          // applied values from _retainedFrom on
    private long _retainedFrom;
    private LearnerReady _ready = new();
    private long _now;
    private long _gapSince = -1;
    private long _lastProbe;
    private long _leaderFirstUnchosen;
    private int _leader = -1;
    private int _catchUpCursor;

    public Learner(int id, QuorumSet acceptors, IEnumerable<int> peers, LearnerOptions options, IStateMachine stateMachine)
    {
        Id = id;
        _acceptors = acceptors;
        _peers = peers.ToImmutableArray();
        _options = options;
        _stateMachine = stateMachine;
    }

    public int Id { get; }

    /// <summary>Slots below this are applied. Invariant: every slot below it was applied exactly once, in order.</summary>
    public long NextToApply { get; private set; }

    /// <summary>Highest slot known chosen, whether applied or waiting behind a gap (-1: none).</summary>
    public long HighestDecided { get; private set; } = -1;

    public LearnerReady TakeReady()
    {
        var r = _ready;
        _ready = new LearnerReady();
        return r;
    }

    /// <summary>A proposer on this node sent an Accept: now a vote for (slot, ballot) has a value.</summary>
    public void Handle(Accept accept)
    {
        if (accept.Slot < NextToApply || _decided.ContainsKey(accept.Slot))
        {
            // Our proposer is (re)proposing a slot we know is chosen: typically it restarted and lost
            // FirstUnchosen. The votes for it would be ignored here, so without this answer the slot
            // stays in flight forever and fills the proposer's window.
            if (KnownChosen(accept.Slot) is { } chosen) Send(Address.Proposer(Id), new Chosen(accept.Slot, chosen));
            return;
        }
        var tally = TallyFor(accept.Slot, accept.Ballot);
        tally.Value ??= accept.Value;
        if (tally.Votes.Result == VoteResult.Won) Decide(accept.Slot, tally.Value, announce: true);
    }

    /// <summary>An acceptor's vote. Duplicates and non-members change nothing.</summary>
    public void Handle(Accepted accepted)
    {
        if (accepted.Slot < NextToApply || _decided.ContainsKey(accepted.Slot)) return;
        var tally = TallyFor(accepted.Slot, accepted.Ballot);
        if (tally.Votes.Record(accepted.Acceptor, true) == VoteResult.Won && tally.Value is not null)
            Decide(accepted.Slot, tally.Value, announce: true);
    }

    /// <summary>Another learner's announcement.</summary>
    public void Handle(Chosen chosen) => Decide(chosen.Slot, chosen.Value, announce: false);

    public void Handle(ChosenRange range)
    {
        for (int i = 0; i < range.Values.Length; i++) Decide(range.FromSlot + i, range.Values[i], announce: false);
    }

    /// <summary>A peer asks for what it missed; answer from the retained values, or with the whole
    /// applied state when it is behind what this learner still retains.</summary>
    public void Handle(CatchUp request)
    {
        if (request.Learner == Id || request.FromSlot >= NextToApply) return;
        if (request.FromSlot < _retainedFrom)
        {
            if (_stateMachine is ISnapshotStateMachine snapshots)
                Send(Address.Learner(request.Learner), new StateTransfer(NextToApply, snapshots.TakeSnapshot()));
            return;
        }
        long from = request.FromSlot;
        int start = (int)(from - _retainedFrom);
        int count = (int)Math.Min(_options.MaxCatchUpBatch, NextToApply - from);
        Send(Address.Learner(request.Learner), new ChosenRange(from, _retained.GetRange(start, count).ToImmutableArray()));
    }

    /// <summary>The leader's heartbeat says how far the log is chosen, so an idle learner still notices it is behind.</summary>
    public void Handle(Heartbeat heartbeat)
    {
        _leader = heartbeat.Ballot.Proposer;
        _leaderFirstUnchosen = Math.Max(_leaderFirstUnchosen, heartbeat.FirstUnchosen);
        if (_leaderFirstUnchosen > NextToApply && _gapSince < 0) _gapSince = _now;
    }

    public void Tick()
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
                if (probed >= 0) Send(Address.Learner(probed), new CatchUp(Id, NextToApply));
            }
            return;
        }
        if (_gapSince < 0) { _gapSince = _now; return; }
        if (_now - _gapSince < _options.CatchUpTicks) return;
        _gapSince = _now;
        int peer = PickCatchUpPeer();
        if (peer >= 0) Send(Address.Learner(peer), new CatchUp(Id, NextToApply));
    }

    /// <summary>A peer's whole applied state: for a learner too far behind to replay slots one by one.</summary>
    public void Handle(StateTransfer transfer)
    {
        if (transfer.NextToApply <= NextToApply || _stateMachine is not ISnapshotStateMachine snapshots) return;
        snapshots.RestoreSnapshot(transfer.State);
        JumpTo(transfer.NextToApply);
        InstalledSnapshot = true;
        while (_decided.Remove(NextToApply, out var next))
        {
            _stateMachine.Apply(NextToApply, next);
            _retained.Add(next);
            NextToApply++;
        }
    }

    /// <summary>Set when a <see cref="StateTransfer"/> replaced the state: the shell should snapshot it, since
    /// the journal before it no longer describes this learner. Cleared by the shell.</summary>
    public bool InstalledSnapshot { get; set; }

    /// <summary>Recovery from a snapshot of this learner (<see cref="LearnerSnapshot"/>): the state machine was restored
    /// by the shell; the learner continues from <paramref name="nextToApply"/>.</summary>
    public void RestoredFrom(long nextToApply) => JumpTo(nextToApply);

    private void JumpTo(long nextToApply)
    {
        NextToApply = nextToApply;
        HighestDecided = Math.Max(HighestDecided, nextToApply - 1);
        foreach (long slot in _decided.Keys.Where(k => k < nextToApply).ToList()) _decided.Remove(slot);
        foreach (long slot in _tallies.Keys.Where(k => k < nextToApply).ToList()) _tallies.Remove(slot);
        _retained.Clear();
        _retainedFrom = nextToApply;
        _gapSince = -1;
    }

    /// <summary>Recovery: a value this learner journaled. Nothing is announced or sent.</summary>
    public void Recover(Learned learned)
    {
        Decide(learned.Slot, learned.Value, announce: false, journal: false);
        _ready = new LearnerReady();
    }

    private void Decide(long slot, SlotValue value, bool announce, bool journal = true)
    {
        if (slot < NextToApply || _decided.ContainsKey(slot)) return;
        _decided[slot] = value;
        _tallies.Remove(slot);
        HighestDecided = Math.Max(HighestDecided, slot);
        if (journal) _ready.Events.Add(new Learned(slot, value));
        var chosen = new Chosen(slot, value);
        if (announce)
            foreach (int p in _peers)
                if (p != Id) Send(Address.Learner(p), chosen);
        Send(Address.Proposer(Id), chosen);

        while (_decided.Remove(NextToApply, out var next))
        {
            _stateMachine.Apply(NextToApply, next);
            _retained.Add(next);
            NextToApply++;
        }
        if (_retained.Count > _options.RetainedValues + _options.RetainedValues / 4)
        {
            int drop = _retained.Count - _options.RetainedValues; // in chunks: RemoveRange copies the rest
            _retained.RemoveRange(0, drop);
            _retainedFrom += drop;
        }
    }

    private SlotValue? KnownChosen(long slot) =>
        _decided.TryGetValue(slot, out var v) ? v
        : slot >= _retainedFrom && slot < NextToApply ? _retained[(int)(slot - _retainedFrom)]
        : null;

    private int PickCatchUpPeer()
    {
        if (_leader >= 0 && _leader != Id && _catchUpCursor++ % 2 == 0) return _leader;
        for (int i = 0; i < _peers.Length; i++)
        {
            int p = _peers[(_catchUpCursor + i) % _peers.Length];
            if (p != Id) { _catchUpCursor += i + 1; return p; }
        }
        return -1;
    }

    private Tally TallyFor(long slot, Ballot ballot)
    {
        if (!_tallies.TryGetValue(slot, out var byBallot)) _tallies[slot] = byBallot = new();
        if (!byBallot.TryGetValue(ballot, out var tally)) byBallot[ballot] = tally = new Tally(_acceptors.NewTracker());
        return tally;
    }

    private void Send(Address to, IPaxosMessage message) => _ready.Messages.Add(new Envelope(to, message));

    private sealed class Tally(QuorumTracker votes)
    {
        public QuorumTracker Votes { get; } = votes;
        public SlotValue? Value { get; set; }
    }
}

/// <summary>A learner's durable snapshot: the state machine's bytes with every slot below
/// <paramref name="NextToApply"/> applied. The journal below it is deleted.</summary>
public sealed record LearnerSnapshot(long NextToApply, byte[] State)
{
    public bool Equals(LearnerSnapshot? other) =>
        other is not null && NextToApply == other.NextToApply && State.AsSpan().SequenceEqual(other.State);

    public override int GetHashCode() => HashCode.Combine(NextToApply, State.Length);
}
