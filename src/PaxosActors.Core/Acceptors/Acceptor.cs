using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Acceptors;

/// <summary>How an acceptor starts and what it checks before its first vote.</summary>
public sealed record AcceptorOptions(QuorumSet Acceptors)
{
    /// <summary>Before voting with an empty journal, ask the other acceptors whether they know this one as a voter
    /// (<see cref="AcceptorStartup"/>). Off only where nothing can be lost: a single in-memory demo or a unit test.</summary>
    public bool DetectLostState { get; init; } = true;

    /// <summary>The operator asked an acceptor that lost its journal to rebuild itself from a majority of the others.
    /// Ignored when the journal holds state.</summary>
    public bool Rebuild { get; init; }

    /// <summary>Ticks between the start-up questions to the other acceptors while no verdict is reached.</summary>
    public int StartupQueryTicks { get; init; } = 50;
}

/// <summary>Where an acceptor stands.</summary>
public enum AcceptorMode
{
    /// <summary>Its journal is being replayed: it takes no input yet.</summary>
    Recovering,
    /// <summary>An empty journal, and no verdict yet on whether it lost its state: it answers the other acceptors'
    /// questions and casts no vote.</summary>
    Starting,
    /// <summary>Its state is its own: it promises and votes.</summary>
    Voting,
    /// <summary>It lost its durable state: it never votes again until an operator rebuilds it.</summary>
    Refusing,
}

/// <summary>
/// The acceptor of Paxos Made Simple §2.2, for every slot at once: one promise covers all slots, and each slot keeps
/// the value of the highest ballot it accepted. Before its first vote it makes sure its state is its own
/// (<see cref="AcceptorStartup"/>). Every promise and vote is an event in <see cref="Ready.Persist"/>, and the reply that
/// reveals it is a message of the same step, so it leaves only once the event is durable.
/// </summary>
public sealed class Acceptor : IAgent
{
    // Invariant: every entry's ballot <= Promised, and every entry's slot >= CompactedBelow.
    private readonly SortedList<long, AcceptedEntry> _accepted = new();
    private readonly SortedSet<int> _knownVoters = new();
    private readonly SortedSet<int> _cleared = new();      // JoinAsked: acceptors that did not know it before it asked to join
    private readonly AcceptorOptions _options;
    private readonly ReadyBuilder _ready = new();
    private AcceptorStartup? _startup;
    private bool _recoveredAnything;
    private long _now;
    private long _lastQueryAt;

    public Acceptor(int id, AcceptorOptions options)
    {
        Id = AgentId.Acceptor(id);
        _options = options;
    }

    public AgentId Id { get; }

    public int Node => Id.Node;

    public AcceptorMode Mode { get; private set; } = AcceptorMode.Recovering;

    /// <summary>Why it votes or not, for the log and /status.</summary>
    public string State { get; private set; } = "recovering its journal";

    /// <summary>The start-up verdict (<see cref="StartupVerdict.Vote"/> once voting).</summary>
    public StartupVerdict Verdict => _startup?.Verdict ?? (Mode == AcceptorMode.Voting ? StartupVerdict.Vote : StartupVerdict.Wait);

    /// <summary>The highest ballot this acceptor has promised or accepted in.</summary>
    public Ballot Promised { get; private set; } = Ballot.Zero;

    /// <summary>Slots below this were compacted away: chosen, and held in a durable learner snapshot on this node.</summary>
    public long CompactedBelow { get; private set; }

    public int EntryCount => _accepted.Count;

    public AcceptedEntry? EntryAt(long slot) => _accepted.TryGetValue(slot, out var e) ? e : null;

    public AcceptedEntry? HighestEntry => _accepted.Count == 0 ? null : _accepted.Values[^1];

    /// <summary>Whether <paramref name="acceptor"/> is known to have joined as a voter.</summary>
    public bool Knows(int acceptor) => _knownVoters.Contains(acceptor);

    public void Recover(IJournalRecord record)
    {
        _recoveredAnything = true;
        switch (record)
        {
            case AcceptorSnapshot snapshot: Restore(snapshot); break;
            case IAcceptorEvent evt: Apply(evt); break;
        }
    }

    public Ready Step(IInput input)
    {
        switch (input)
        {
            case Recovered when Mode == AcceptorMode.Recovering: OnRecovered(); break;
            case Prepare m when Mode == AcceptorMode.Voting: Handle(m); break;
            case Accept m when Mode == AcceptorMode.Voting: Handle(m); break;
            // Only a voting acceptor's promise is its own: one that lost its state would report a blank one.
            case RoundQuery m when Mode == AcceptorMode.Voting: Handle(m); break;
            // Likewise a read confirmation: "nothing promised above your ballot" is worth something only from its own state.
            case ReadConfirm m when Mode == AcceptorMode.Voting: Handle(m); break;
            // A rebuild must hear only from acceptors whose state is their own (the intersection argument of
            // AcceptorStartup); "do you know me?" is answered while starting too, or a new cluster could never form.
            case StateQuery m when Mode == AcceptorMode.Voting || (Mode != AcceptorMode.Recovering && !m.Full): Handle(m); break;
            case StateReport m when Mode == AcceptorMode.Starting: Handle(m); break;
            case CompactBelow m when Mode == AcceptorMode.Voting: Compact(m.Below); break;
            case MembershipKnown m when Mode != AcceptorMode.Recovering: OnMembership(m); break;
            case Tick: OnTick(); break;
        }
        return _ready.Take();
    }

    /// <summary>The whole durable state, for a journal snapshot: take it only when every event is durable.</summary>
    public AcceptorSnapshot Snapshot() =>
        new(Promised, CompactedBelow, _accepted.Values.ToImmutableArray()) { KnownVoters = _knownVoters.ToImmutableArray() };

    private void OnRecovered()
    {
        if (!_options.DetectLostState)
        {
            BecomeVoting(_recoveredAnything ? "recovered its journal" : "a new acceptor (lost-state detection off)");
            return;
        }
        // Its state is its own only if it joined as a voter itself: every acceptor records VoterJoined for itself
        // before its first vote. What a starting or refusing acceptor wrote (others joining) does not make a blank
        // state its own.
        bool ownState = Knows(Node);
        if (_options.Rebuild && ownState)
            _ready.Notice(NoticeLevel.Warning, $"acceptor {Node}: the journal holds its own state, so the rebuild request is ignored");
        _startup = new AcceptorStartup(Node, _options.Acceptors, journalEmpty: !ownState, _options.Rebuild, _cleared);
        Carry(_startup);
    }

    /// <summary>Acts on the start-up verdict so far.</summary>
    private void Carry(AcceptorStartup startup)
    {
        switch (startup.Verdict)
        {
            case StartupVerdict.Vote:
                if (startup.RecordSelf && !Knows(Node)) Persist(new VoterJoined(Node));
                BecomeVoting(startup.Reason);
                break;
            case StartupVerdict.Rebuild:
                Persist(new Rebuilt(startup.Rebuilt!));
                _ready.Notice(NoticeLevel.Warning, $"acceptor {Node}: {startup.Reason}");
                BecomeVoting(startup.Reason);
                break;
            case StartupVerdict.Refuse:
                Mode = AcceptorMode.Refusing;
                State = "refusing: " + startup.Reason;
                _ready.Notice(NoticeLevel.Error, $"acceptor {Node}: {startup.Reason}");
                break;
            case StartupVerdict.Wait:
                State = "waiting: " + startup.Reason;
                if (Mode == AcceptorMode.Starting) break;
                Mode = AcceptorMode.Starting;
                _ready.Notice(NoticeLevel.Info, $"acceptor {Node}: {startup.Reason}");
                SendStartupQueries();
                break;
        }
    }

    private void BecomeVoting(string why)
    {
        Mode = AcceptorMode.Voting;
        State = "voting";
        _ready.Notice(NoticeLevel.Info, $"acceptor {Node} votes ({why}): promised {Promised}, {EntryCount} entries");
    }

    /// <summary>The memberships this node's learner knows, if it told this acceptor (null: the configured set only).</summary>
    private MembershipHistory? _memberships;

    /// <summary>The first slot from which this acceptor is in no membership it knows of, if it was removed.</summary>
    public long? RemovedFrom { get; private set; }

    /// <summary>Whether this acceptor knows that <paramref name="slot"/> is governed by a membership it is not part of:
    /// its vote there would not count, and it casts none (past what it knows, it votes: that is always safe).</summary>
    private bool RemovedAt(long slot) =>
        _memberships is { } m && m.Knows(slot) && !m.At(slot).IsAcceptor(Node);

    /// <summary>
    /// The memberships, from this node's learner. An acceptor removed from the set says so and votes no more in the slots
    /// it no longer governs. One still starting asks the latest acceptor set, not the configured one, whether it knows
    /// this acceptor.
    /// </summary>
    private void OnMembership(MembershipKnown known)
    {
        _memberships = new MembershipHistory(known.Epochs, known.AppliedThrough);
        var latest = _memberships.LatestEpoch;
        bool member = latest.Membership.IsAcceptor(Node);
        if (!member && RemovedFrom is null)
            _ready.Notice(NoticeLevel.Warning, $"acceptor {Node}: removed from the acceptor set from slot {latest.EffectiveFrom} " +
                                               $"({latest.Membership}); it votes no more from there");
        else if (member && RemovedFrom is not null)
            _ready.Notice(NoticeLevel.Info, $"acceptor {Node}: in the acceptor set again from slot {latest.EffectiveFrom}");
        RemovedFrom = member ? null : latest.EffectiveFrom;
        if (Mode == AcceptorMode.Voting) State = RemovedFrom is { } from ? $"removed: not an acceptor from slot {from} on" : "voting";
        // A rebuild keeps the acceptor set it started with: its lost votes were cast in that set's quorums.
        if (Mode == AcceptorMode.Starting && _startup is not null && _options.DetectLostState && !_options.Rebuild)
        {
            var others = latest.Membership.Acceptors.Where(a => a != Node).Order().ToList();
            if (!others.SequenceEqual(_startup.Others.Order()))
            {
                _startup = new AcceptorStartup(Node, latest.Membership.Quorum, journalEmpty: !Knows(Node), _options.Rebuild,
                    _startup.Cleared.Union(_cleared));
                Carry(_startup);
                if (Mode == AcceptorMode.Starting) SendStartupQueries();
            }
        }
    }

    private void OnTick()
    {
        _now++;
        if (Mode == AcceptorMode.Starting && _now - _lastQueryAt >= _options.StartupQueryTicks) SendStartupQueries();
    }

    private void SendStartupQueries()
    {
        _lastQueryAt = _now;
        foreach (int other in _startup!.Others) _ready.Send(AgentId.Acceptor(other), _startup.Query);
    }

    /// <summary>Phase 1b: promise a ballot above the current promise; re-promise the same ballot (a duplicated
    /// Prepare) without a new event; refuse anything lower.</summary>
    private void Handle(Prepare prepare)
    {
        var to = AgentId.Proposer(prepare.Ballot.Proposer);
        if (prepare.Ballot < Promised)
        {
            _ready.Send(to, new Nack(prepare.Ballot, Node, Promised));
            return;
        }
        if (prepare.Ballot > Promised) Persist(new Promised(prepare.Ballot));
        _ready.Send(to, new Promise(prepare.Ballot, Node, CompactedBelow, EntriesFrom(prepare.FromSlot)));
    }

    /// <summary>Phase 2b: accept at a ballot greater than or equal to the promise (not only greater: seed 002 gets
    /// this wrong); refuse anything lower. The vote goes to the learner on the proposer's node, which counts votes for
    /// the whole cluster. A repeated Accept for the (slot, ballot) already held is voted for again if it carries the
    /// same value; with a different value it gets no vote and changes nothing: one ballot carries one value per slot,
    /// so it can only come from a reused ballot, and a vote would be counted for a value this acceptor does not hold.</summary>
    private void Handle(Accept accept)
    {
        if (accept.Ballot < Promised)
        {
            _ready.Send(AgentId.Proposer(accept.Ballot.Proposer), new Nack(accept.Ballot, Node, Promised));
            return;
        }
        if (accept.Slot < CompactedBelow) return; // chosen long ago; the proposer learns it from a learner, not from a vote
        if (RemovedAt(accept.Slot)) return; // its vote would not count there

        var vote = new Accepted(accept.Ballot, accept.Slot, Node);
        if (_accepted.TryGetValue(accept.Slot, out var held) && held.Ballot == accept.Ballot)
        {
            if (held.Value.Equals(accept.Value)) _ready.Send(AgentId.Learner(accept.Ballot.Proposer), vote);
            return;
        }
        Persist(new Voted(accept.Slot, accept.Ballot, accept.Value));
        _ready.Send(AgentId.Learner(accept.Ballot.Proposer), vote);
    }

    /// <summary>Forgets entries below <paramref name="below"/>; the node's learner guarantees those slots are chosen
    /// and held in its durable snapshot.</summary>
    private void Compact(long below)
    {
        if (below > CompactedBelow) Persist(new Compacted(below));
    }

    /// <summary>Answers an empty acceptor's question at start-up (entries only if it is rebuilding). A join request is
    /// recorded first: the reply that confirms it must not leave before the event is durable.</summary>
    private void Handle(StateQuery query)
    {
        if (query.Join && !Knows(query.From)) Persist(new VoterJoined(query.From));
        var report = new StateReport(Node, query.Full, Promised, CompactedBelow,
            query.Full ? _accepted.Values.ToImmutableArray() : ImmutableArray<AcceptedEntry>.Empty, Knows(query.From))
        {
            KnownVoters = query.Full ? _knownVoters.ToImmutableArray() : ImmutableArray<int>.Empty,
        };
        _ready.Send(AgentId.Acceptor(query.From), report);
    }

    private void Handle(StateReport report)
    {
        var asked = _startup!.Query;
        _startup.Handle(report);
        Carry(_startup);
        if (Mode != AcceptorMode.Starting || _startup.Query == asked) return;
        // The next question at once. A request to be recorded waits behind the journaled list of those that said they did
        // not know this acceptor: after a restart, that they know it then is no sign of a lost journal.
        if (_startup.Joining && !_cleared.IsSupersetOf(_startup.Cleared))
            Persist(new JoinAsked(Node, _startup.Cleared.Union(_cleared).Order().ToImmutableArray()));
        SendStartupQueries();
    }

    /// <summary>Tells a proposer that has no durable round what this acceptor has promised. No event, but the reply may
    /// reveal a promise still being persisted, so it waits behind earlier events like any reply.</summary>
    private void Handle(RoundQuery query) =>
        _ready.Send(AgentId.Proposer(query.Proposer), new RoundReport(Node, Promised, query.Nonce));

    /// <summary>A leader's read confirmation round (read index): says whether this acceptor has promised a ballot above the
    /// leader's, now. No event: a promise only grows, so "not above" now means "not above" at any earlier time too, which
    /// is what the leader's reads need. A higher promise is a Nack, which deposes the leader.</summary>
    private void Handle(ReadConfirm confirm)
    {
        var to = AgentId.Proposer(confirm.Ballot.Proposer);
        if (Promised > confirm.Ballot) _ready.Send(to, new Nack(confirm.Ballot, Node, Promised));
        else _ready.Send(to, new ReadConfirmed(confirm.Ballot, confirm.Round, Node));
    }

    private void Persist(IAcceptorEvent evt)
    {
        Apply(evt);
        _ready.Persist(evt);
    }

    /// <summary>Applies an event: while stepping, and again on recovery from the journal.</summary>
    private void Apply(IAcceptorEvent evt)
    {
        switch (evt)
        {
            case Promised p:
                Promised = Ballot.Max(Promised, p.Ballot);
                break;
            case Voted v:
                Promised = Ballot.Max(Promised, v.Ballot);
                if (v.Slot >= CompactedBelow)
                    _accepted[v.Slot] = new AcceptedEntry(v.Slot, v.Ballot, v.Value);
                break;
            case Rebuilt r:
                Restore(r.State);
                break;
            case VoterJoined j:
                _knownVoters.Add(j.Acceptor);
                break;
            case JoinAsked j when j.Acceptor == Node:
                _cleared.UnionWith(j.Cleared);
                break;
            case Compacted c when c.Below > CompactedBelow:
                CompactedBelow = c.Below;
                while (_accepted.Count > 0 && _accepted.Keys[0] < c.Below) _accepted.RemoveAt(0);
                break;
        }
    }

    private void Restore(AcceptorSnapshot snapshot)
    {
        Promised = snapshot.Promised;
        CompactedBelow = snapshot.CompactedBelow;
        _accepted.Clear();
        foreach (var e in snapshot.Entries) _accepted[e.Slot] = e;
        _knownVoters.Clear();
        foreach (int v in snapshot.KnownVoters.IsDefault ? [] : snapshot.KnownVoters) _knownVoters.Add(v);
    }

    private ImmutableArray<AcceptedEntry> EntriesFrom(long fromSlot)
    {
        var keys = _accepted.Keys;
        int lo = 0, hi = keys.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (keys[mid] < fromSlot) lo = mid + 1; else hi = mid;
        }
        if (lo == keys.Count) return ImmutableArray<AcceptedEntry>.Empty;
        var builder = ImmutableArray.CreateBuilder<AcceptedEntry>(keys.Count - lo);
        var values = _accepted.Values;
        for (int i = lo; i < keys.Count; i++) builder.Add(values[i]);
        return builder.MoveToImmutable();
    }
}
