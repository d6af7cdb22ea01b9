using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Acceptors;

/// <summary>What an acceptor may do after recovering its journal.</summary>
public enum StartupVerdict
{
    /// <summary>Its state is its own, or it has just joined as a new voter: vote.</summary>
    Vote,
    /// <summary>Not every acceptor it must hear from has answered yet: do not vote.</summary>
    Wait,
    /// <summary>Its journal is empty but the others know it as a voter: it lost its durable state. Never vote.</summary>
    Refuse,
    /// <summary>The operator asked it to rebuild: adopt <see cref="AcceptorStartup.Rebuilt"/>, then vote.</summary>
    Rebuild,
}

/// <summary>
/// Decides whether an acceptor that starts with an empty journal may vote. An acceptor that forgot its
/// promises and votes could help choose two values for one slot, and a lost file looks exactly like a new
/// node from the inside, so the others remember: before a new acceptor votes for the first time, every other
/// acceptor durably records it as a voter (<see cref="VoterJoined"/>). An empty acceptor that any other
/// acceptor knows has lost its state, and refuses. An operator can then ask it to rebuild: it adopts, from a
/// majority of the <em>other</em> acceptors, the highest promise, the highest compaction point and per slot
/// the highest-ballot entry. That majority meets every quorum the lost state took part in outside this
/// acceptor (a majority of n, less one member, and a majority of the n-1 others always share a member), so
/// nothing it promised or helped choose is forgotten.
/// <para>An acceptor that said it did not know this one, before this one (with this journal) asked any to record it, may
/// know it later only because of that request (<see cref="Cleared"/>, journaled as <see cref="JoinAsked"/> before the
/// request leaves): so a restart in the middle of joining, or a change of the acceptor set meanwhile (the new set's others
/// are asked from the start), goes on joining rather than refusing. Any other acceptor that knows it still means a lost
/// journal. It cannot have voted before: its first vote follows its own <see cref="VoterJoined"/>.</para>
/// </summary>
public sealed class AcceptorStartup
{
    private readonly int _self;
    private readonly QuorumSet _acceptors;
    private readonly bool _rebuild;
    private readonly Dictionary<int, StateReport> _reports = new();
    private readonly SortedSet<int> _cleared;
    private bool _joining;

    /// <param name="cleared">Acceptors that said they did not know this one before it asked any to record it, with this
    /// journal (<see cref="JoinAsked"/>, or an earlier <see cref="AcceptorStartup"/> of this run before the acceptor set
    /// changed): that one of them knows it now is explained by that request, not by a lost journal.</param>
    public AcceptorStartup(int self, QuorumSet acceptors, bool journalEmpty, bool rebuild, IEnumerable<int>? cleared = null)
    {
        _self = self;
        _acceptors = acceptors;
        _cleared = [.. cleared ?? []];
        _rebuild = rebuild && journalEmpty;
        Others = acceptors.Members.Where(a => a != self).ToList();
        if (!journalEmpty)
        {
            Verdict = StartupVerdict.Vote;
            Reason = "recovered its journal";
        }
        else if (Others.Count == 0 && !_rebuild)
        {
            Verdict = StartupVerdict.Vote;
            RecordSelf = true;
            Reason = "the only acceptor";
        }
        else
        {
            Verdict = StartupVerdict.Wait;
            Reason = _rebuild ? "rebuilding: waiting for a majority of the other acceptors"
                : "empty journal: asking the other acceptors whether they know this one";
        }
    }

    public StartupVerdict Verdict { get; private set; }

    /// <summary>Why: for the log and /status.</summary>
    public string Reason { get; private set; }

    /// <summary>With <see cref="StartupVerdict.Vote"/> or <see cref="StartupVerdict.Rebuild"/>: persist
    /// <see cref="VoterJoined"/> for itself before the first vote, so a restart goes straight to voting.</summary>
    public bool RecordSelf { get; private set; }

    /// <summary>The state to adopt when <see cref="Verdict"/> is <see cref="StartupVerdict.Rebuild"/>.</summary>
    public AcceptorSnapshot? Rebuilt { get; private set; }

    public IReadOnlyList<int> Others { get; }

    /// <summary>The acceptors that said they did not know this one before it asked any to record it (see the constructor);
    /// once joining, every other acceptor of the set is among them. The acceptor journals them (<see cref="JoinAsked"/>)
    /// before its first request to be recorded leaves.</summary>
    public IReadOnlyCollection<int> Cleared => _cleared;

    /// <summary>Whether it is asking the others to record it as a voter (every one of them said it did not know it).</summary>
    public bool Joining => _joining;

    /// <summary>What to send every other acceptor while <see cref="Verdict"/> is <see cref="StartupVerdict.Wait"/>.</summary>
    public StateQuery Query => new(_self, _rebuild, _joining);

    public void Handle(StateReport report)
    {
        if (Verdict != StartupVerdict.Wait || report.Acceptor == _self || !_acceptors.Contains(report.Acceptor)) return;
        if (_rebuild != report.Full) return; // an answer to an earlier question
        _reports[report.Acceptor] = report;

        if (_rebuild)
        {
            int needed = _acceptors.Majority;
            if (_reports.Count < needed)
            {
                Reason = $"rebuilding: {_reports.Count} of the {needed} other acceptors needed have answered";
                return;
            }
            Rebuilt = Merge(_self, _reports.Values);
            Verdict = StartupVerdict.Rebuild;
            Reason = $"rebuilt from acceptors {string.Join(", ", _reports.Keys.Order())}: promised {Rebuilt.Promised}, " +
                     $"{Rebuilt.Entries.Length} entries from slot {Rebuilt.CompactedBelow}";
            return;
        }

        if (!_joining && report.KnowsAsker && !_cleared.Contains(report.Acceptor))
        {
            Verdict = StartupVerdict.Refuse;
            Reason = $"this acceptor's journal is empty, but acceptor {report.Acceptor} knows it as a voter: it lost " +
                     "its durable state, and voting again from scratch could choose two values for one slot; it will " +
                     "not vote. Restart it once with --rebuild-acceptor to rebuild it from a majority of the other acceptors.";
            return;
        }
        var missing = Others.Where(a => !_reports.TryGetValue(a, out var r) || (_joining && !r.KnowsAsker)).ToList();
        if (missing.Count > 0)
        {
            Reason = _joining
                ? $"joining as a new voter: waiting for acceptor(s) {string.Join(", ", missing)} to record it"
                : $"empty journal: waiting for acceptor(s) {string.Join(", ", missing)} to say whether they know this one";
            return;
        }
        if (!_joining)
        {
            // Nobody knows it: a new acceptor. Every other one records it before it votes, so that losing
            // this acceptor's file later is noticed however few of them are up then.
            _joining = true;
            _cleared.UnionWith(Others);
            _reports.Clear();
            Reason = "a new acceptor: asking every other acceptor to record it as a voter";
            return;
        }
        Verdict = StartupVerdict.Vote;
        RecordSelf = true;
        Reason = "joined as a new voter, recorded by every other acceptor";
    }

    private static AcceptorSnapshot Merge(int self, IEnumerable<StateReport> reports)
    {
        var promised = Ballot.Zero;
        long compacted = 0;
        var bySlot = new SortedDictionary<long, AcceptedEntry>();
        var voters = new SortedSet<int> { self };
        foreach (var r in reports)
        {
            promised = Ballot.Max(promised, r.Promised);
            compacted = Math.Max(compacted, r.CompactedBelow);
            foreach (var e in r.Entries.IsDefault ? ImmutableArray<AcceptedEntry>.Empty : r.Entries)
                if (!bySlot.TryGetValue(e.Slot, out var held) || e.Ballot > held.Ballot)
                    bySlot[e.Slot] = e;
            foreach (int v in r.KnownVoters.IsDefault ? ImmutableArray<int>.Empty : r.KnownVoters) voters.Add(v);
        }
        foreach (var e in bySlot.Values) promised = Ballot.Max(promised, e.Ballot);
        // Below the highest compaction point the slots are chosen and some learner holds them; an entry
        // there might be a stale loser, so none is kept and the point itself is adopted.
        return new AcceptorSnapshot(promised, compacted, bySlot.Values.Where(e => e.Slot >= compacted).ToImmutableArray())
        {
            KnownVoters = voters.ToImmutableArray(),
        };
    }
}
