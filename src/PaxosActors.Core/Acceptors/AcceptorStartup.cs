using System.Collections.Immutable;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Acceptors;

/// <summary>What an acceptor may do after recovering its journal.</summary>
public enum StartupVerdict
{
    /// <summary>Its state is its own (or the whole cluster is new): vote.</summary>
    Vote,
    /// <summary>Not every other acceptor has answered yet: do not vote.</summary>
    Wait,
    /// <summary>Its journal is empty but the cluster has voted: it lost its durable state. Never vote.</summary>
    Refuse,
    /// <summary>The operator asked it to rebuild: adopt <see cref="AcceptorStartup.Rebuilt"/>, then vote.</summary>
    Rebuild,
}

/// <summary>
/// Decides whether an acceptor that starts with an empty journal may vote. An acceptor that forgot its
/// promises and votes could help choose two values for one slot, so emptiness is only trusted when every
/// other acceptor is empty too (a new cluster). Otherwise it refuses, until an operator asks it to rebuild:
/// it then adopts, from a majority of the <em>other</em> acceptors, the highest promise, the highest
/// compaction point and per slot the highest-ballot entry. That majority meets every quorum the lost state
/// took part in outside this acceptor (two majorities of n, less one member, still intersect among n-1),
/// so nothing this acceptor promised or helped choose is forgotten.
/// </summary>
public sealed class AcceptorStartup
{
    private readonly int _self;
    private readonly QuorumSet _acceptors;
    private readonly bool _rebuild;
    private readonly Dictionary<int, StateReport> _reports = new();

    public AcceptorStartup(int self, QuorumSet acceptors, bool journalEmpty, bool rebuild)
    {
        _self = self;
        _acceptors = acceptors;
        _rebuild = rebuild && journalEmpty;
        Verdict = !journalEmpty || (Others.Count == 0 && !_rebuild) ? StartupVerdict.Vote : StartupVerdict.Wait;
        Reason = Verdict == StartupVerdict.Vote
            ? (journalEmpty ? "a new single-acceptor cluster" : "recovered its journal")
            : _rebuild ? "rebuilding: waiting for a majority of the other acceptors" : "empty journal: asking the other acceptors whether the cluster is new";
    }

    public StartupVerdict Verdict { get; private set; }

    /// <summary>Why: for the log and /status.</summary>
    public string Reason { get; private set; }

    /// <summary>The state to adopt when <see cref="Verdict"/> is <see cref="StartupVerdict.Rebuild"/>.</summary>
    public AcceptorSnapshot? Rebuilt { get; private set; }

    public IReadOnlyList<int> Others => _acceptors.Members.Where(a => a != _self).ToList();

    /// <summary>What to send every other acceptor while <see cref="Verdict"/> is <see cref="StartupVerdict.Wait"/>.</summary>
    public StateQuery Query => new(_self, _rebuild);

    public void Handle(StateReport report)
    {
        if (Verdict != StartupVerdict.Wait || report.Acceptor == _self || !_acceptors.Contains(report.Acceptor)) return;
        if (_rebuild && !report.Full) return;
        _reports[report.Acceptor] = report;

        if (_rebuild)
        {
            int needed = _acceptors.Majority;
            if (_reports.Count < needed)
            {
                Reason = $"rebuilding: {_reports.Count} of the {needed} other acceptors needed have answered";
                return;
            }
            Rebuilt = Merge(_reports.Values);
            Verdict = StartupVerdict.Rebuild;
            Reason = $"rebuilt from acceptors {string.Join(", ", _reports.Keys.Order())}: promised {Rebuilt.Promised}, " +
                     $"{Rebuilt.Entries.Length} entries from slot {Rebuilt.CompactedBelow}";
            return;
        }

        if (report.HasVoted)
        {
            Verdict = StartupVerdict.Refuse;
            Reason = $"this acceptor's journal is empty, but acceptor {report.Acceptor} has promised {report.Promised}: " +
                     "it lost its durable state (or never had any while the cluster ran), and voting again from " +
                     "scratch could choose two values for one slot; it will not vote. Restart it once with " +
                     "--rebuild-acceptor to rebuild it from a majority of the other acceptors.";
            return;
        }
        var missing = Others.Where(a => !_reports.ContainsKey(a)).ToList();
        if (missing.Count == 0)
        {
            Verdict = StartupVerdict.Vote;
            Reason = "every acceptor is empty: a new cluster";
        }
        else Reason = $"empty journal: waiting for acceptor(s) {string.Join(", ", missing)} to say whether the cluster is new";
    }

    private static AcceptorSnapshot Merge(IEnumerable<StateReport> reports)
    {
        var promised = Ballot.Zero;
        long compacted = 0;
        var bySlot = new SortedDictionary<long, AcceptedEntry>();
        foreach (var r in reports)
        {
            promised = Ballot.Max(promised, r.Promised);
            compacted = Math.Max(compacted, r.CompactedBelow);
            foreach (var e in r.Entries.IsDefault ? ImmutableArray<AcceptedEntry>.Empty : r.Entries)
                if (!bySlot.TryGetValue(e.Slot, out var held) || e.Ballot > held.Ballot)
                    bySlot[e.Slot] = e;
        }
        foreach (var e in bySlot.Values) promised = Ballot.Max(promised, e.Ballot);
        // Below the highest compaction point the slots are chosen and some learner holds them; an entry
        // there might be a stale loser, so none is kept and the point itself is adopted.
        return new AcceptorSnapshot(promised, compacted, bySlot.Values.Where(e => e.Slot >= compacted).ToImmutableArray());
    }
}
