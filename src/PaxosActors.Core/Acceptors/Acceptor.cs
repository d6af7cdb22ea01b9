using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Acceptors;

/// <summary>
/// What one acceptor step asks of the shell: persist <see cref="Event"/> (if any), and only once it
/// is durable send <see cref="Reply"/>. A step without an event may still have to wait for earlier
/// events to become durable, since its reply can reveal them.
/// </summary>
public readonly record struct AcceptorStep(IAcceptorEvent? Event, Envelope? Reply);

/// <summary>
/// The acceptor of Paxos Made Simple §2.2, for every slot at once: one promise covers all slots,
/// and each slot keeps the value of the highest ballot it accepted. Pure: the shell persists the
/// events and sends the replies.
/// </summary>
public sealed class Acceptor
{
    // Invariant: every entry's ballot <= Promised.
    private readonly SortedList<long, AcceptedEntry> _accepted = new();
    private readonly SortedSet<int> _knownVoters = new();

    public Acceptor(int id) => Id = id;

    public int Id { get; }

    /// <summary>The highest ballot this acceptor has promised or accepted in.</summary>
    public Ballot Promised { get; private set; } = Ballot.Zero;

    /// <summary>Slots below this were compacted away: chosen, and held in a durable snapshot.</summary>
    public long CompactedBelow { get; private set; }

    public int EntryCount => _accepted.Count;

    public AcceptedEntry? EntryAt(long slot) => _accepted.TryGetValue(slot, out var e) ? e : null;

    /// <summary>Phase 1b: promise a ballot above the current promise; re-promise the same ballot
    /// (a duplicated Prepare) without a new event; refuse anything lower.</summary>
    public AcceptorStep Handle(Prepare prepare)
    {
        var to = Address.Proposer(prepare.Ballot.Proposer);
        if (prepare.Ballot < Promised)
            return new(null, new Envelope(to, new Nack(prepare.Ballot, Id, Promised)));

        IAcceptorEvent? evt = null;
        if (prepare.Ballot > Promised)
        {
            evt = new Promised(prepare.Ballot);
            Apply(evt);
        }
        return new(evt, new Envelope(to, new Promise(prepare.Ballot, Id, CompactedBelow, EntriesFrom(prepare.FromSlot))));
    }

    /// <summary>Phase 2b: accept at a ballot greater than or equal to the promise (not only greater:
    /// seed 002 gets this wrong); refuse anything lower. The vote goes to the learner on the
    /// proposer's node, which counts votes for the whole cluster. A repeated Accept for the (slot, ballot)
    /// already held is voted for again if it carries the same value; with a different value it gets no
    /// vote and changes nothing: one ballot carries one value per slot, so it can only come from a reused
    /// ballot, and a vote would be counted for a value this acceptor does not hold.</summary>
    public AcceptorStep Handle(Accept accept)
    {
        if (accept.Ballot < Promised)
            return new(null, new Envelope(Address.Proposer(accept.Ballot.Proposer), new Nack(accept.Ballot, Id, Promised)));
        if (accept.Slot < CompactedBelow)
            return default; // chosen long ago; the proposer learns it from a learner, not from a vote

        var vote = new Envelope(Address.Learner(accept.Ballot.Proposer), new Accepted(accept.Ballot, accept.Slot, Id));
        if (_accepted.TryGetValue(accept.Slot, out var held) && held.Ballot == accept.Ballot)
            return held.Value.Equals(accept.Value)
                ? new(null, vote) // a duplicate: one proposer sends one value per (slot, ballot)
                : default;        // a reused ballot with another value: never vote for what we do not hold

        var evt = new Voted(accept.Slot, accept.Ballot, accept.Value);
        Apply(evt);
        return new(evt, vote);
    }

    /// <summary>Forgets entries below <paramref name="below"/>; the caller guarantees those slots are
    /// chosen and held in a durable learner snapshot.</summary>
    public IAcceptorEvent? Compact(long below)
    {
        if (below <= CompactedBelow) return null;
        var evt = new Compacted(below);
        Apply(evt);
        return evt;
    }

    /// <summary>Applies an event: while handling a message, and again on recovery from the journal.</summary>
    public void Apply(IAcceptorEvent evt)
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
            case Compacted c when c.Below > CompactedBelow:
                CompactedBelow = c.Below;
                while (_accepted.Count > 0 && _accepted.Keys[0] < c.Below) _accepted.RemoveAt(0);
                break;
        }
    }

    /// <summary>Whether <paramref name="acceptor"/> is known to have joined as a voter.</summary>
    public bool Knows(int acceptor) => _knownVoters.Contains(acceptor);

    /// <summary>Answers an empty acceptor's question at start-up (entries only if it is rebuilding). A join
    /// request is recorded first: the reply that confirms it must not leave before the event is durable.</summary>
    public AcceptorStep Handle(StateQuery query)
    {
        IAcceptorEvent? evt = null;
        if (query.Join && !Knows(query.From))
        {
            evt = new VoterJoined(query.From);
            Apply(evt);
        }
        var report = new StateReport(Id, query.Full, Promised, CompactedBelow,
            query.Full ? _accepted.Values.ToImmutableArray() : ImmutableArray<AcceptedEntry>.Empty, Knows(query.From))
        {
            KnownVoters = query.Full ? _knownVoters.ToImmutableArray() : ImmutableArray<int>.Empty,
        };
        return new(evt, new Envelope(Address.Acceptor(query.From), report));
    }

    /// <summary>Tells a proposer that has no durable round what this acceptor has promised. The shell only
    /// lets a voting acceptor answer: its promise is its own. No event, but the reply may reveal a promise
    /// still being persisted, so it waits behind earlier events like any reply.</summary>
    public AcceptorStep Handle(RoundQuery query) =>
        new(null, new Envelope(Address.Proposer(query.Proposer), new RoundReport(Id, Promised, query.Nonce)));

    public AcceptorSnapshot Snapshot() =>
        new(Promised, CompactedBelow, _accepted.Values.ToImmutableArray()) { KnownVoters = _knownVoters.ToImmutableArray() };

    public void Restore(AcceptorSnapshot snapshot)
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
