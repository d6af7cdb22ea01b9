using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Proposers;

/// <summary>What a proposer writes to its journal: the highest round it has used (or, after
/// <see cref="ProposerPhase.Discovering"/>, a floor no earlier incarnation's accepted ballot is above), so a
/// restart never reuses a ballot.</summary>
public sealed record RoundReserved(long Round) : IJournalRecord;

/// <summary>Where a proposer stands.</summary>
public enum ProposerPhase
{
    /// <summary>Neither preparing nor leading: a follower in Multi-Paxos, idle or backing off in Basic Paxos.</summary>
    Idle,
    /// <summary>Started with no durable round (a new node, or one that lost its journal): asking the acceptors
    /// what they promised, before any Prepare or Accept. It may still forward client commands to a known leader.</summary>
    Discovering,
    /// <summary>Phase 1 sent, collecting promises.</summary>
    Preparing,
    /// <summary>A quorum promised the current ballot: only Phase 2 per slot from here on.</summary>
    Leading,
}

/// <summary>
/// A proposer, and in Multi-Paxos the leader (Paxos Made Moderately Complex §3): Phase 1 once for
/// every slot from the first unchosen one, then Phase 2 per slot with batching and a window of slots
/// in flight; no-ops fill gaps. In Basic Paxos it runs Phase 1 again for every slot. Deterministic:
/// time is <see cref="Tick"/>, randomness is the seeded <see cref="Random"/> it is given.
/// </summary>
/// <remarks>
/// Ballots are (round, proposer id), so a proposer must never reuse a round: it journals the highest round
/// before the Prepare that uses it. A proposer whose journal is gone (see <see cref="Recovered"/>) cannot know
/// which rounds its earlier incarnation used, but it need not: every ballot that incarnation used in an Accept
/// was first promised by a majority of acceptors, and promises are durable and only grow, so every majority
/// holds a promise at least that high. It asks the acceptors (<see cref="RoundQuery"/>), waits for a majority,
/// and uses only rounds above the highest promise reported. A ballot the earlier incarnation only used in a
/// Prepare that no majority promised carries no value, so using it again is harmless.
/// </remarks>
public sealed class Proposer : IAgent
{
    private readonly MembershipHistory _configs; // as this node's learner last reported it
    private readonly ImmutableArray<int> _staticPeers; // nodes with a proposer named in settings, this one included
    private ImmutableArray<int> _peers;               // those and every member of the latest configuration
    private readonly ProposerOptions _options;
    private readonly Random _random;
    private readonly RetryBackoff _backoff;

    private readonly Queue<ReadOnlyMemory<byte>> _pending = new();
    private readonly Queue<SlotValue> _pendingChanges = new(); // reconfigurations, each proposed alone in a slot
    private readonly Dictionary<long, InFlight> _inFlight = new();
    private readonly Dictionary<long, SlotValue> _ownBySlot = new(); // our commands, by the slot we put them in
    private readonly HashSet<long> _chosenAbove = new();            // chosen slots past FirstUnchosen
    private readonly Dictionary<long, AcceptedEntry> _adopted = new(); // highest-ballot entry per slot in promises
    private List<QuorumTracker>? _promises;          // one per configuration governing the prepared slots
    private IReadOnlyList<Membership> _prepared = []; // the configurations the current ballot was prepared with
    private long _maxCompacted;

    private readonly ReadyBuilder _ready = new();
    private bool _recovered;
    private bool _recoveredAnything;
    private long _now;
    private long _phaseStartedAt;
    private long _retryAt = -1;
    private long _electionDeadline;
    private long _lastHeartbeatSent;
    private long _highestSeenRound;
    private long _pendingSince;
    private readonly List<ReadOnlyMemory<byte>> _toForward = new();
    private int _forwardHops;
    private int _forwardCursor; // a node outside the membership: which member ForwardTo names next

    /// <summary>How many proposers a command or a follower's read passes through on its way to the leader: the one it
    /// came to, and one more (a node outside the membership asks a member, which knows the leader). A bound, so two
    /// proposers that each think the other leads do not pass it back and forth.</summary>
    private const int MaxForwardHops = 2;
    private List<QuorumTracker>? _roundReports; // while Discovering: which acceptors answered, per configuration
    private bool _learnerHeard;                 // this incarnation has had its learner's progress
    private long _discoveryNonce;
    private long _highestReportedRound;

    // Reads (read index; see "Reads" below). Invariant: a read leaves in Ready.Reads, or in a ReadIndexReply, only with a
    // point P such that every slot chosen before the read was issued is below P.
    private readonly List<WaitingRead> _readsWaiting = new();      // for a confirmation round (leader) or a leader (follower)
    private ReadRound? _readRound;                                 // the leader's confirmation round in flight
    private readonly List<ConfirmedRead> _readsConfirmed = new();  // points known, waiting for this node's learner to apply them
    private readonly Dictionary<long, (long Since, long AskedAt)> _readsForwarded = new(); // follower: asked of the leader
    private long _readRounds;

    public Proposer(int id, QuorumSet acceptors, IEnumerable<int> peers, ProposerOptions options, Random random)
        : this(id, new Membership(acceptors.Members, peers), peers, options, random) { }

    /// <param name="seed">The configuration of a brand-new cluster: it governs every slot until a reconfiguration is chosen.</param>
    public Proposer(int id, Membership seed, IEnumerable<int> peers, ProposerOptions options, Random random)
    {
        Id = AgentId.Proposer(id);
        _configs = new MembershipHistory(seed, options.ReconfigurationAlpha);
        _staticPeers = peers.ToImmutableArray();
        UpdatePeers();
        _options = options;
        _random = random;
        _backoff = new RetryBackoff(options.BackoffBaseTicks, options.BackoffCapTicks, options.BackoffJitter, random);
        _electionDeadline = NextElectionDeadline();
    }

    public AgentId Id { get; }

    /// <summary>This proposer's node id, the second half of its ballots.</summary>
    public int Node => Id.Node;

    public ProposerPhase Phase { get; private set; }

    /// <summary>The ballot of the current or last attempt.</summary>
    public Ballot Ballot { get; private set; } = Ballot.Zero;

    /// <summary>Highest round ever reserved. Invariant: durable before any Prepare with it is sent, and above every
    /// round an earlier incarnation used in an Accept (see <see cref="Recovered"/>).</summary>
    public long MaxRound { get; private set; }

    /// <summary>Who this proposer believes leads (itself when leading), if anyone.</summary>
    public int? Leader { get; private set; }

    /// <summary>Every slot below this is chosen, as far as this node's learner has told it.</summary>
    public long FirstUnchosen { get; private set; }

    /// <summary>The next slot a new batch goes into.</summary>
    public long NextSlot { get; private set; }

    public int PendingCount => _pending.Count + _pendingChanges.Count;

    /// <summary>The configurations this proposer knows, from its learner.</summary>
    public MembershipHistory Configurations => _configs;
    public int InFlightCount => _inFlight.Count;

    /// <summary>Consecutive failed attempts: the backoff exponent.</summary>
    public int Failures => _backoff.Failures;

    /// <summary>Attempts retried after a Nack or a timeout, each after a randomised backoff, by this incarnation.</summary>
    public long BackoffRetries => _backoff.Retries;

    public void Recover(IJournalRecord record)
    {
        if (record is not RoundReserved reserved) return;
        _recoveredAnything = true;
        MaxRound = Math.Max(MaxRound, reserved.Round);
    }

    public Ready Step(IInput input)
    {
        if (input is Recovered) OnRecovered();
        else if (_recovered)
        {
            switch (input)
            {
                case Tick: OnTick(); break;
                case Propose m: Handle(m); break;
                case Promise m: Handle(m); break;
                case Nack m: Handle(m); break;
                case Chosen m: Handle(m); break;
                case Heartbeat m: Handle(m); break;
                case RoundReport m: Handle(m); break;
                case Flush: FlushForwards(); break;
                case LearnerProgress m: OnLearnerProgress(m); break;
                case ReadIndex m: _readsWaiting.Add(new WaitingRead(m.Id, Node, _now)); break;
                case ReadIndexRequest m: Handle(m); break;
                case ReadIndexReply m: Handle(m); break;
                case ReadConfirmed m: Handle(m); break;
            }
            DriveReads();
        }
        return _ready.Take();
    }

    /// <summary>
    /// The journal is replayed. With no round in it (a new node, or one whose journal was deleted or cannot be read)
    /// this proposer cannot know which rounds an earlier incarnation used, so before its first Prepare it asks every
    /// acceptor what it has promised (<see cref="ProposerPhase.Discovering"/>), and once a majority has answered
    /// journals that highest round as a floor: its ballots are then above every ballot any earlier incarnation used
    /// in an Accept. A fresh cluster pays one round trip for it. It also asks its learner how far the log is applied,
    /// so a restarted leader does not run the part it already knows again.
    /// </summary>
    private void OnRecovered()
    {
        if (_recovered) return;
        _recovered = true;
        _ready.Send(AgentId.Learner(Node), ProgressQuery.Instance);
        if (_recoveredAnything) return;
        Phase = ProposerPhase.Discovering;
        _discoveryNonce = _random.NextInt64();
        _highestReportedRound = 0;
        _phaseStartedAt = _now;
        // Which acceptors to ask depends on the configurations of the slots it may propose in: wait for the learner.
        if (_learnerHeard) StartDiscovery();
    }

    /// <summary>Asks a majority of every configuration that governs a slot this proposer may propose in: any ballot an
    /// earlier incarnation used in an Accept for such a slot was promised by a majority of that slot's configuration.</summary>
    private void StartDiscovery()
    {
        _roundReports = _configs.Between(FirstUnchosen, _configs.KnownThrough).Select(c => c.Quorum.NewTracker()).ToList();
        SendRoundQueries();
    }

    /// <summary>An acceptor's answer to this incarnation's <see cref="RoundQuery"/>.</summary>
    private void Handle(RoundReport report)
    {
        if (Phase != ProposerPhase.Discovering || _roundReports is null || report.Nonce != _discoveryNonce) return;
        var trackers = _roundReports.Where(t => t.Contains(report.Acceptor) && !t.HasVoted(report.Acceptor)).ToList();
        if (trackers.Count == 0) return;
        _highestReportedRound = Math.Max(_highestReportedRound, report.Promised.Round);
        foreach (var t in trackers) t.Record(report.Acceptor, true);
        if (_roundReports.Any(t => t.Result != VoteResult.Won)) return;

        // Journal the floor, so a restart from here on needs no discovery; the first Prepare uses a round above it.
        var floor = new RoundReserved(Math.Max(MaxRound, _highestReportedRound));
        MaxRound = floor.Round;
        _ready.Persist(floor);
        _roundReports = null;
        Phase = ProposerPhase.Idle;
        if (!_options.MultiPaxos && PendingCount > 0 && _retryAt < 0) StartPhase1();
    }

    /// <summary>Client commands, from this node or forwarded by another.</summary>
    private void Handle(Propose propose)
    {
        if (propose.Commands.IsNoOp) return;
        if (propose.Commands.Change is not null)
        {
            // A reconfiguration goes to the leader at once and is proposed alone in its slot.
            if (_options.MultiPaxos && Phase != ProposerPhase.Leading && ForwardTo() is { } to && propose.Hops < MaxForwardHops)
                Send(AgentId.Proposer(to), propose with { Hops = propose.Hops + 1 });
            else if (!Superseded(propose.Commands))
            {
                _pendingChanges.Enqueue(propose.Commands);
                if (Phase == ProposerPhase.Leading) ProposePending();
                else if (!_options.MultiPaxos && Phase == ProposerPhase.Idle && _retryAt < 0) StartPhase1();
            }
            return;
        }
        if (_options.MultiPaxos && Phase != ProposerPhase.Leading && ForwardTo() is { } leader && propose.Hops < MaxForwardHops)
        {
            if (!_options.BufferForwards)
            {
                Send(AgentId.Proposer(leader), propose with { Hops = propose.Hops + 1 });
                return;
            }
            if (_toForward.Count == 0) _ready.FlushWhenIdle(); // everything that arrives in this burst leaves as one batch
            _forwardHops = Math.Max(_forwardHops, propose.Hops + 1);
            _toForward.AddRange(propose.Commands.Commands);
            return;
        }
        if (_pending.Count == 0) _pendingSince = _now;
        foreach (var c in propose.Commands.Commands) _pending.Enqueue(c);
        if (Phase == ProposerPhase.Leading) ProposePending();
        else if (!_options.MultiPaxos && Phase == ProposerPhase.Idle && _retryAt < 0) StartPhase1();
    }

    /// <summary>Phase 1b. The ballot leads once a majority of every configuration that governs a slot it may propose in
    /// has promised. It adopts, per slot, the highest-ballot entry any promise reports: that a set of reports holding a
    /// majority of the slot's configuration may also hold others changes nothing (the highest-ballot value among any
    /// such superset is still the only one that can have been chosen).</summary>
    private void Handle(Promise promise)
    {
        if (Phase != ProposerPhase.Preparing || promise.Ballot != Ballot || _promises is null) return;
        var trackers = _promises.Where(t => t.Contains(promise.Acceptor) && !t.HasVoted(promise.Acceptor)).ToList();
        if (trackers.Count == 0) return;
        _maxCompacted = Math.Max(_maxCompacted, promise.CompactedBelow);
        foreach (var e in promise.Entries)
            if (!_adopted.TryGetValue(e.Slot, out var held) || e.Ballot > held.Ballot)
                _adopted[e.Slot] = e;
        foreach (var t in trackers) t.Record(promise.Acceptor, true);
        if (_promises.All(t => t.Result == VoteResult.Won)) BecomeLeader();
    }

    private void Handle(Nack nack)
    {
        _highestSeenRound = Math.Max(_highestSeenRound, nack.Promised.Round);
        if (nack.Rejected != Ballot || nack.Promised <= Ballot || Phase is ProposerPhase.Idle or ProposerPhase.Discovering) return;
        StepDown(_options.MultiPaxos ? nack.Promised.Proposer : null);
    }

    /// <summary>A chosen slot, from this node's learner.</summary>
    private void Handle(Chosen chosen)
    {
        long slot = chosen.Slot;
        long holesFrom = NextSlot;
        if (slot >= FirstUnchosen)
        {
            _chosenAbove.Add(slot);
            while (_chosenAbove.Remove(FirstUnchosen)) FirstUnchosen++;
        }
        _inFlight.Remove(slot);
        _adopted.Remove(slot);
        if (_ownBySlot.Remove(slot, out var own) && !own.Equals(chosen.Value))
            Requeue(own); // another value won this slot: ours goes into a later one
        if (NextSlot < FirstUnchosen) NextSlot = FirstUnchosen;
        if (slot >= NextSlot) NextSlot = slot + 1;

        if (Phase == ProposerPhase.Leading)
        {
            // A slot chosen past NextSlot while leading can only be another proposer's (a newer ballot: this leader is
            // stale and its no-ops will be Nacked). Either way the slots it skipped must not stay holes.
            if (slot > holesFrom) FillHoles();
            if (!_options.MultiPaxos && _inFlight.Count == 0)
            {
                Phase = ProposerPhase.Idle; // Basic Paxos: the next value needs Phase 1 again
                if (PendingCount > 0) StartPhase1();
            }
            else ProposePending();
        }
        else if (!_options.MultiPaxos && Phase == ProposerPhase.Idle && PendingCount > 0 && _retryAt < 0)
            StartPhase1();
    }

    /// <summary>Sends the commands buffered for the leader (<see cref="ProposerOptions.BufferForwards"/>) as one batch,
    /// or keeps them if there is no leader to send to any more.</summary>
    private void FlushForwards()
    {
        if (_toForward.Count == 0) return;
        var batch = new SlotValue(_toForward.ToImmutableArray());
        int hops = _forwardHops;
        _toForward.Clear();
        _forwardHops = 0;
        if (_options.MultiPaxos && Phase != ProposerPhase.Leading && ForwardTo() is { } leader)
            Send(AgentId.Proposer(leader), new Propose(batch, hops));
        else
            Handle(new Propose(batch, MaxForwardHops)); // the leader changed meanwhile: queue or propose here
    }

    /// <summary>The learner's word on the configurations, and how far it applied the log. A configuration this ballot was not
    /// prepared with that now governs a slot it may propose in means Phase 1 again (for a majority of it too).</summary>
    private void OnLearnerProgress(LearnerProgress progress)
    {
        var epochs = progress.Configurations.IsDefaultOrEmpty ? _configs.Epochs : progress.Configurations;
        _configs.Reset(epochs, progress.NextToApply);
        UpdatePeers();
        bool first = !_learnerHeard;
        _learnerHeard = true;
        LearnerCaughtUp(progress.NextToApply, progress.Restarted);
        if (Phase == ProposerPhase.Discovering && first) StartDiscovery();
        else if (Phase is ProposerPhase.Leading or ProposerPhase.Preparing &&
                 _configs.Between(FirstUnchosen, _configs.KnownThrough).Any(c => !_prepared.Contains(c)))
            StartPhase1();
        else if (Phase == ProposerPhase.Leading)
        {
            FillHoles();
            ProposePending();
        }
    }

    /// <summary>This node's learner has applied every slot below <paramref name="nextToApply"/>: after a
    /// restart, the proposer need not run Phase 1 for the log it already knows is chosen. A learner that knows less than
    /// this proposer was told has lost what it knew (it restarted, and its journal is only a cache): what it forgot may be
    /// known to no learner at all, so the proposer forgets it too, and a leader runs Phase 1 again from there, which
    /// proposes those slots again with the values the acceptors hold, so that every learner learns them.</summary>
    private void LearnerCaughtUp(long nextToApply, bool restarted)
    {
        // A restarted learner also forgot what it told this proposer of past a gap (_chosenAbove).
        if (nextToApply < FirstUnchosen || (restarted && _chosenAbove.Count > 0))
        {
            FirstUnchosen = nextToApply;
            _chosenAbove.Clear();
            if (Phase is ProposerPhase.Leading or ProposerPhase.Preparing) StartPhase1();
            return;
        }
        if (nextToApply == FirstUnchosen) return;
        FirstUnchosen = nextToApply;
        _chosenAbove.RemoveWhere(s => s < nextToApply);
        // Whatever was in flight below is decided; a client whose command lost such a slot retries it.
        foreach (long slot in _inFlight.Keys.Where(s => s < nextToApply).ToList()) _inFlight.Remove(slot);
        foreach (long slot in _ownBySlot.Keys.Where(s => s < nextToApply).ToList()) _ownBySlot.Remove(slot);
        while (_chosenAbove.Remove(FirstUnchosen)) FirstUnchosen++;
        if (NextSlot < FirstUnchosen) NextSlot = FirstUnchosen;
    }

    private void Handle(Heartbeat heartbeat)
    {
        if (heartbeat.Ballot.Proposer == Node) return;
        _highestSeenRound = Math.Max(_highestSeenRound, heartbeat.Ballot.Round);
        bool competing = Phase is ProposerPhase.Preparing or ProposerPhase.Leading;
        if (heartbeat.Ballot < Ballot && competing) return; // a stale leader; ours is newer
        if (competing) StepDown(heartbeat.Ballot.Proposer);
        Leader = heartbeat.Ballot.Proposer;
        _electionDeadline = NextElectionDeadline();
        FlushPendingToLeader();
    }

    /// <summary>One unit of logical time.</summary>
    private void OnTick()
    {
        _now++;
        switch (Phase)
        {
            case ProposerPhase.Discovering when _now - _phaseStartedAt >= _options.PhaseTimeoutTicks:
                if (_roundReports is null)
                {
                    _phaseStartedAt = _now;
                    _ready.Send(AgentId.Learner(Node), ProgressQuery.Instance); // still waiting for the learner
                }
                else SendRoundQueries(); // ask again until a majority of each configuration has answered
                break;
            case ProposerPhase.Preparing when _now - _phaseStartedAt >= _options.PhaseTimeoutTicks:
                StepDown(null); // no quorum of promises in time
                break;
            case ProposerPhase.Leading:
                ResendStalledAccepts();
                if (Phase != ProposerPhase.Leading) break;
                ResendStalledReadRound();
                if (_options.MultiPaxos && !IsMember)
                {
                    StepDown(null); // its node left the membership: another member's proposer takes over
                    break;
                }
                if (_options.BatchDelayTicks > 0) ProposePending();
                DrivePendingMembership();
                if (_options.MultiPaxos && _now - _lastHeartbeatSent >= _options.HeartbeatTicks) SendHeartbeat();
                break;
            case ProposerPhase.Idle when _options.MultiPaxos && !IsMember:
                // A node outside the membership never stands itself: it forwards what it is given to a member.
                if (PendingCount > 0) FlushPendingToLeader();
                break;
            case ProposerPhase.Idle:
                if (_retryAt >= 0 && _now >= _retryAt)
                {
                    _retryAt = -1;
                    if (_options.MultiPaxos || PendingCount > 0 || _ownBySlot.Count > 0 || _readsWaiting.Count > 0) StartPhase1();
                }
                else if (_options.MultiPaxos && _retryAt < 0 && _now >= _electionDeadline)
                    StartPhase1();
                break;
        }
    }

    private void StartPhase1()
    {
        AbandonReadRound();
        long round = Math.Max(MaxRound, _highestSeenRound) + 1;
        MaxRound = round;
        _ready.Persist(new RoundReserved(round));
        Ballot = new Ballot(round, Node);
        Phase = ProposerPhase.Preparing;
        Leader = null;
        _phaseStartedAt = _now;
        // Every configuration that governs a slot this ballot may propose in: from the first unchosen slot to the last
        // one whose configuration is known (a later one needs Phase 1 again, with its configuration, once known).
        _prepared = _configs.Between(FirstUnchosen, _configs.KnownThrough);
        _promises = _prepared.Select(c => c.Quorum.NewTracker()).ToList();
        _adopted.Clear();
        _maxCompacted = 0;
        var prepare = new Prepare(Ballot, FirstUnchosen);
        foreach (int a in _prepared.SelectMany(c => c.Acceptors).Distinct()) Send(AgentId.Acceptor(a), prepare);
    }

    private void SendRoundQueries()
    {
        _phaseStartedAt = _now;
        var query = new RoundQuery(Node, _discoveryNonce);
        var asked = new HashSet<int>();
        foreach (var tracker in _roundReports!)
            foreach (int a in tracker.Members)
                if (!tracker.HasVoted(a) && asked.Add(a)) Send(AgentId.Acceptor(a), query);
    }

    private void BecomeLeader()
    {
        Phase = ProposerPhase.Leading;
        Leader = Node;
        _backoff.Reset();
        _promises = null;

        // Slots below an acceptor's compaction point are chosen: the learner fetches them, nobody proposes there.
        long start = Math.Max(FirstUnchosen, _maxCompacted);
        // Every slot this proposer knows of up to the last one reported, owned, or already known chosen (which is
        // where NextSlot points past): a slot below a chosen one that nobody fills leaves a hole no learner can pass.
        long last = Math.Max(start, NextSlot) - 1;
        foreach (long s in _adopted.Keys) last = Math.Max(last, s);
        foreach (long s in _ownBySlot.Keys) last = Math.Max(last, s);

        _inFlight.Clear();
        NextSlot = Math.Max(NextSlot, last + 1);
        // Slots whose configuration is not known yet keep their adopted value until it is (FillHoles).
        FillHoles(start);
        if (_options.MultiPaxos) SendHeartbeat();
        ProposePending();
        if (!_options.MultiPaxos && _inFlight.Count == 0 && _readsWaiting.Count == 0) Phase = ProposerPhase.Idle;
    }

    /// <summary>
    /// While leading: proposes in every slot below <see cref="NextSlot"/> whose configuration is known and that is
    /// neither chosen nor in flight. The value is the rule that makes Paxos safe: the highest-ballot entry any promise
    /// reported for the slot; else this proposer's own value for it; else a no-op. Invariant afterwards: every slot in
    /// [start, min(NextSlot, KnownThrough)) is chosen or in flight, so no slot stays a hole that no learner can pass.
    /// </summary>
    private void FillHoles(long? from = null)
    {
        long end = Math.Min(NextSlot, _configs.KnownThrough);
        // Never below an acceptor's compaction point: those slots are chosen, and an acceptor that has not compacted
        // yet would vote for whatever came.
        for (long s = Math.Max(from ?? FirstUnchosen, _maxCompacted); s < end; s++)
        {
            if (s < FirstUnchosen || _chosenAbove.Contains(s) || _inFlight.ContainsKey(s)) continue;
            var value = _adopted.Remove(s, out var entry) ? entry.Value
                : _ownBySlot.TryGetValue(s, out var own) ? own
                : SlotValue.NoOp;
            SendAccept(s, value);
        }
    }

    /// <summary>A change that can never take effect: the epoch it expects is older than the latest this proposer knows of
    /// (in force or pending), and epochs never come back (<see cref="Reconfiguration"/>). Chosen, it would change nothing
    /// and only take a slot, ahead of the commands queued behind it, and in Basic-Paxos a contested round of its own. It is
    /// dropped, as a proposer may drop any value of its own that is not chosen yet: this touches only the queue, never a
    /// value a promise reported (those are re-proposed in their slots). Whoever asked watches the log and computes the
    /// change again (<c>MembersApi</c>). A change from a view newer than this proposer's is kept.
    /// (<see cref="ProposerOptions.DropSupersededChanges"/>.)</summary>
    private bool Superseded(SlotValue change) => _options.DropSupersededChanges &&
        change.Change is { ExpectedFrom: { } from } && from < _configs.LatestEpoch.EffectiveFrom;

    private void ProposePending()
    {
        int window = _options.MultiPaxos ? _options.Window : 1;
        // Never past the slots whose configuration is known, nor where a promise reported a value still to re-propose.
        while (Phase == ProposerPhase.Leading && _pendingChanges.Count > 0 && _inFlight.Count < window &&
               NextSlot < _configs.KnownThrough && !_adopted.ContainsKey(NextSlot))
        {
            var change = _pendingChanges.Dequeue();
            if (Superseded(change)) continue;
            long slot = NextSlot++;
            _ownBySlot[slot] = change;
            SendAccept(slot, change);
        }
        while (Phase == ProposerPhase.Leading && _pending.Count > 0 && _inFlight.Count < window &&
               NextSlot < _configs.KnownThrough && !_adopted.ContainsKey(NextSlot))
        {
            // With a batch delay, a batch that is not full waits (up to the delay) for more commands.
            if (_options.BatchDelayTicks > 0 && _pending.Count < _options.MaxBatchCommands &&
                _now - _pendingSince < _options.BatchDelayTicks)
                return;
            var batch = ImmutableArray.CreateBuilder<ReadOnlyMemory<byte>>();
            int bytes = 0;
            while (_pending.Count > 0 && batch.Count < _options.MaxBatchCommands &&
                   (batch.Count == 0 || bytes + _pending.Peek().Length <= _options.MaxBatchBytes))
            {
                var c = _pending.Dequeue();
                bytes += c.Length;
                batch.Add(c);
            }
            var value = new SlotValue(batch.ToImmutable());
            long slot = NextSlot++;
            _ownBySlot[slot] = value;
            SendAccept(slot, value);
        }
    }

    private void SendAccept(long slot, SlotValue value)
    {
        _inFlight[slot] = new InFlight(value, _now);
        var accept = new Accept(Ballot, slot, value);
        Send(AgentId.Learner(Node), accept); // our learner counts the votes, so it must know the value
        foreach (int a in _configs.At(slot).Acceptors) Send(AgentId.Acceptor(a), accept);
    }

    /// <summary>Whether this node belongs to the latest membership (as an acceptor or a learner): only members lead.</summary>
    private bool IsMember => _configs.Latest.IsMember(Node);

    /// <summary>Where a proposer that does not lead sends what it is given: the leader it knows of, or, on a node outside
    /// the membership (which hears no heartbeats), a member, which knows the leader or may become it.</summary>
    private int? ForwardTo()
    {
        // Outside the membership no heartbeat corrects the leader it knew: that one is trusted only while it is a member
        // (which knows the leader, or passes the request on), and forgotten once a request to it goes unanswered.
        if (Leader is { } leader && leader != Node && (IsMember || _configs.Latest.IsMember(leader))) return leader;
        if (IsMember) return null;
        var members = _configs.Latest.Members.Where(m => m != Node).ToList();
        // Each call the next member: a member that drops what it is sent (it knows no leader) is not asked for ever. (It
        // was _now % count: retries a timeout apart land on the same member whenever the timeout is a multiple of count.)
        return members.Count == 0 ? null : members[_forwardCursor++ % members.Count];
    }

    /// <summary>A reconfiguration governs slots from its effective slot on: with no commands to fill the slots before it,
    /// the leader fills them with no-ops so that the change is in force promptly, not after the next alpha writes.</summary>
    private void DrivePendingMembership()
    {
        int window = _options.MultiPaxos ? _options.Window : 1;
        while (Phase == ProposerPhase.Leading && PendingCount == 0 && _inFlight.Count < window &&
               NextSlot < _configs.LatestEpoch.EffectiveFrom && NextSlot < _configs.KnownThrough)
        {
            long slot = NextSlot++;
            SendAccept(slot, SlotValue.NoOp);
        }
    }

    private void UpdatePeers() =>
        _peers = _staticPeers.Concat(_configs.Latest.Members).Append(Node).Distinct().Order().ToImmutableArray();

    private void ResendStalledAccepts()
    {
        if (_inFlight.Count == 0) return;
        List<long>? stalled = null;
        foreach (var (slot, f) in _inFlight)
            if (_now - f.SentAt >= _options.PhaseTimeoutTicks) (stalled ??= new()).Add(slot);
        if (stalled is null) return;
        if (!_options.MultiPaxos)
        {
            StepDown(null); // Basic Paxos retries the whole instance with a higher ballot
            return;
        }
        foreach (long slot in stalled) SendAccept(slot, _inFlight[slot].Value); // lost messages: same ballot again
    }

    private void SendHeartbeat()
    {
        _lastHeartbeatSent = _now;
        var hb = new Heartbeat(Ballot, FirstUnchosen);
        foreach (int p in _peers)
        {
            if (p == Node) continue;
            Send(AgentId.Proposer(p), hb);
            Send(AgentId.Learner(p), hb);
        }
    }

    /// <summary>Gives up the current attempt. A known new leader is followed; otherwise retry after backoff.</summary>
    private void StepDown(int? newLeader)
    {
        AbandonReadRound();
        Phase = ProposerPhase.Idle;
        _promises = null;
        _adopted.Clear();
        _inFlight.Clear();
        Leader = newLeader;
        int delay = _backoff.NextDelay();
        if (newLeader is null)
            _retryAt = _now + delay;
        else
        {
            _retryAt = -1;
            _electionDeadline = NextElectionDeadline() + delay;
            FlushPendingToLeader();
        }
    }

    private void FlushPendingToLeader()
    {
        if (PendingCount == 0 || ForwardTo() is not { } leader) return;
        while (_pendingChanges.TryDequeue(out var change))
            if (!Superseded(change)) Send(AgentId.Proposer(leader), new Propose(change, 1));
        if (_pending.Count == 0) return;
        var commands = _pending.ToImmutableArray();
        _pending.Clear();
        Send(AgentId.Proposer(leader), new Propose(new SlotValue(commands), 1));
    }

    private void Requeue(SlotValue own)
    {
        if (own.Change is not null)
        {
            if (Superseded(own)) return;
            _pendingChanges.Enqueue(own); // applied only if it still matches the configuration then
            if (_options.MultiPaxos && Phase != ProposerPhase.Leading) FlushPendingToLeader();
            return;
        }
        var rest = _pending.ToArray();
        _pending.Clear();
        foreach (var c in own.Commands) _pending.Enqueue(c);
        foreach (var c in rest) _pending.Enqueue(c);
        if (_options.MultiPaxos && Phase != ProposerPhase.Leading) FlushPendingToLeader();
    }

    private long NextElectionDeadline() =>
        _now + _options.ElectionTimeoutTicks + _random.Next(_options.ElectionTimeoutTicks + 1);

    private void Send(AgentId to, IInput message) => _ready.Send(to, message);

    private readonly record struct InFlight(SlotValue Value, long SentAt);

    // ----- Reads (read index) -----
    //
    // A read issued at time t must reflect every slot chosen before t. A leader at ballot b records a read point P, its
    // NextSlot when a confirmation round starts, then asks a majority of every membership of its window whether they
    // promised a ballot above b (ReadConfirm). Every reply comes after t, and promises only grow, so at t a majority of each
    // of those memberships had promised nothing above b: no ballot above b had a majority of them, so nothing was chosen
    // above b in a slot they govern. What was chosen at b, this leader proposed (below NextSlot); what was chosen below b,
    // its Phase 1 saw through a majority of the same memberships and adopted (below NextSlot too). A slot at or past P whose
    // membership is not among the confirmed ones could hide a value chosen by a newer leader; so the read is served only
    // once this node's learner applied P and every membership that governs a slot from P on (as far as known then) was
    // confirmed: a newer leader choosing a slot s >= P knew s's membership, so slots up to s - alpha were chosen, including
    // P itself, whose membership was confirmed, a contradiction. See docs/ARCHITECTURE.md, "The path of one GET".

    /// <summary>A follower's read, asked of this leader.</summary>
    private void Handle(ReadIndexRequest request)
    {
        if (request.Node == Node) return;
        if (Phase == ProposerPhase.Leading) _readsWaiting.Add(new WaitingRead(request.Id, request.Node, _now));
        // A node outside the membership hears no heartbeats and asks any member: one that knows the leader passes the
        // request on, like a command (the leader answers the asking node directly). Otherwise the asker tries again
        // after a timeout, through another member.
        else if (_options.MultiPaxos && request.Hops < MaxForwardHops && Leader is { } leader && leader != Node && leader != request.Node)
            Send(AgentId.Proposer(leader), request with { Hops = request.Hops + 1 });
    }

    /// <summary>The leader's read point for one of this node's reads: served once this node's learner applied it.</summary>
    private void Handle(ReadIndexReply reply)
    {
        if (_readsForwarded.Remove(reply.Id, out var asked))
            _readsConfirmed.Add(new ConfirmedRead(reply.Id, Node, reply.Point, null, asked.Since, reply.Ballot));
    }

    private void Handle(ReadConfirmed confirmed)
    {
        // Not tied to the phase: the round proves facts about its ballot as of when the reads were issued. A new ballot
        // abandons the round (StartPhase1, StepDown).
        if (_readRound is not { } round || confirmed.Round != round.Number || confirmed.Ballot != round.Ballot) return;
        foreach (var t in round.Trackers)
            if (t.Contains(confirmed.Acceptor)) t.Record(confirmed.Acceptor, true);
        if (round.Trackers.All(t => t.Result == VoteResult.Won)) CompleteReadRound(round);
    }

    /// <summary>Moves every read along: starts a confirmation round for the reads waiting (all share it), forwards a
    /// follower's reads to the leader, and hands out the reads whose point this node's learner has applied.</summary>
    private void DriveReads()
    {
        if (_readsWaiting.Count == 0 && _readRound is null && _readsConfirmed.Count == 0 && _readsForwarded.Count == 0) return;
        long expired = _now - _options.ReadTimeoutTicks; // the client has given up on these and asks again
        _readsWaiting.RemoveAll(r => r.Since < expired);
        _readsConfirmed.RemoveAll(r => r.Since < expired);
        foreach (var (id, f) in _readsForwarded.ToList())
        {
            if (f.Since < expired) _readsForwarded.Remove(id);
            else if (_now - f.AskedAt >= _options.PhaseTimeoutTicks)
            {
                // No answer: the leader changed or the messages were lost. Ask again (or queue here if this node leads now).
                _readsForwarded.Remove(id);
                if (!IsMember && Phase != ProposerPhase.Leading) Leader = null; // a stale hint: ask the members in turn
                _readsWaiting.Add(new WaitingRead(id, Node, f.Since));
            }
        }

        ServeAppliedReads();

        if (_readsWaiting.Count > 0)
        {
            if (Phase == ProposerPhase.Leading)
            {
                if (_readRound is null) StartReadRound();
            }
            else if (_options.MultiPaxos)
            {
                // A follower asks the leader; another node's read asked of a proposer that no longer leads is dropped
                // (that node asks again).
                _readsWaiting.RemoveAll(r => r.Node != Node);
                if (ForwardTo() is { } leader)
                {
                    foreach (var r in _readsWaiting)
                    {
                        _readsForwarded[r.Id] = (r.Since, _now);
                        Send(AgentId.Proposer(leader), new ReadIndexRequest(Node, r.Id, Hops: 1));
                    }
                    _readsWaiting.Clear();
                }
            }
            else if (Phase == ProposerPhase.Idle && _retryAt < 0)
                StartPhase1(); // Basic Paxos has no standing leader: this proposer becomes one for its reads
        }
        if (!_options.MultiPaxos && Phase == ProposerPhase.Leading && _inFlight.Count == 0 && _readRound is null &&
            _readsWaiting.Count == 0)
            Phase = ProposerPhase.Idle;
    }

    /// <summary>One round to a majority of every membership of the window, shared by every read waiting now. Its point is
    /// NextSlot now: at least NextSlot when each of those reads arrived, so it covers them all.</summary>
    private void StartReadRound()
    {
        var configs = _configs.Between(FirstUnchosen, _configs.KnownThrough);
        var round = new ReadRound(++_readRounds, Ballot, Math.Max(NextSlot, FirstUnchosen), configs,
            configs.Select(c => c.Quorum.NewTracker()).ToList(), _readsWaiting.ToList(), _now);
        _readsWaiting.Clear();
        _readRound = round;
        if (_options.UnsafeReadsWithoutConfirmation)
        {
            CompleteReadRound(round); // the negative control: no round at all
            return;
        }
        var confirm = new ReadConfirm(Ballot, round.Number);
        foreach (int a in configs.SelectMany(c => c.Acceptors).Distinct()) Send(AgentId.Acceptor(a), confirm);
    }

    private void ResendStalledReadRound()
    {
        if (_readRound is not { } round || _now - round.SentAt < _options.PhaseTimeoutTicks) return;
        round.SentAt = _now;
        var confirm = new ReadConfirm(round.Ballot, round.Number);
        foreach (int a in round.Trackers.SelectMany(t => t.Members.Where(m => !t.HasVoted(m))).Distinct())
            Send(AgentId.Acceptor(a), confirm);
    }

    private void CompleteReadRound(ReadRound round)
    {
        _readRound = null;
        foreach (var r in round.Reads)
            _readsConfirmed.Add(new ConfirmedRead(r.Id, r.Node, round.Point, round.Configs, r.Since, round.Ballot));
        ServeAppliedReads();
    }

    /// <summary>A new ballot, or none: the reads of the round in flight wait for the next one (or for a leader).</summary>
    private void AbandonReadRound()
    {
        if (_readRound is not { } round) return;
        _readRound = null;
        _readsWaiting.AddRange(round.Reads);
    }

    /// <summary>Hands out every read whose point this node's learner has applied, unless a membership that governs a slot
    /// from the point on was not confirmed (learnt since): then it waits for another round.</summary>
    private void ServeAppliedReads()
    {
        if (_readsConfirmed.Count == 0) return;
        long applied = _configs.AppliedThrough;
        for (int i = 0; i < _readsConfirmed.Count; i++)
        {
            var r = _readsConfirmed[i];
            if (r.Point > applied) continue;
            _readsConfirmed.RemoveAt(i--);
            if (r.Confirmed is { } confirmed && !_options.UnsafeReadsSkipMembershipCheck &&
                _configs.Between(r.Point, _configs.KnownThrough).Any(c => !confirmed.Contains(c)))
            {
                _readsWaiting.Add(new WaitingRead(r.Id, r.Node, r.Since));
                continue;
            }
            if (r.Node == Node) _ready.Read(new ReadState(r.Id, r.Point));
            else Send(AgentId.Proposer(r.Node), new ReadIndexReply(r.Id, r.Point, r.Ballot));
        }
    }

    /// <summary>Reads waiting here for a point, in any stage (for /status and tests).</summary>
    public int PendingReads => _readsWaiting.Count + (_readRound?.Reads.Count ?? 0) + _readsConfirmed.Count + _readsForwarded.Count;

    /// <summary>A read of node <see cref="Node"/> (this one's or a follower's) waiting for a confirmation round.</summary>
    private readonly record struct WaitingRead(long Id, int Node, long Since);

    /// <summary>A read whose point is known; <see cref="Confirmed"/>: the memberships its round confirmed (null: the point
    /// came from the leader, which checked them).</summary>
    private readonly record struct ConfirmedRead(long Id, int Node, long Point, IReadOnlyList<Membership>? Confirmed, long Since, Ballot Ballot);

    private sealed class ReadRound(long number, Ballot ballot, long point, IReadOnlyList<Membership> configs,
        List<QuorumTracker> trackers, List<WaitingRead> reads, long sentAt)
    {
        public long Number { get; } = number;
        public Ballot Ballot { get; } = ballot;
        public long Point { get; } = point;
        public IReadOnlyList<Membership> Configs { get; } = configs;
        public List<QuorumTracker> Trackers { get; } = trackers;
        public List<WaitingRead> Reads { get; } = reads;
        public long SentAt { get; set; } = sentAt;
    }
}
