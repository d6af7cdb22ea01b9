using PaxosActors.Tools.Chaos;

namespace PaxosActors.Chaos.Tests;

/// <summary>When the harness calls an acceptor set in force unexplained: the harness is the only client of
/// /admin/members, so every set must follow from a change it confirmed or one whose outcome it does not know (which may take
/// effect later, once, on the set its node computed it from). Anything else is an anomaly.</summary>
public sealed class MembershipLedgerSpecs
{
    private readonly List<string> _log = new();

    private static MembersView At(long from, params int[] acceptors) => new(acceptors, from, null, from + 5);

    private MembershipLedger Ledger(MembersView first)
    {
        var ledger = new MembershipLedger(_log.Add);
        ledger.Observe(first, "start");
        return ledger;
    }

    [Fact]
    public void The_set_known_or_an_older_one_from_a_node_behind_is_no_anomaly()
    {
        var ledger = Ledger(At(0, 1, 2, 3));
        ledger.Confirmed(At(40, 1, 3));
        ledger.Observe(At(40, 1, 3), "a read");
        ledger.Observe(At(0, 1, 2, 3), "a node behind");
        Assert.Empty(ledger.Anomalies);
        Assert.Equal([1, 3], ledger.Known!.Acceptors);
    }

    [Fact]
    public void A_new_set_with_no_change_outstanding_is_an_anomaly()
    {
        var ledger = Ledger(At(0, 1, 2, 3));
        ledger.Confirmed(At(40, 1, 3));
        ledger.Observe(At(90, 3), "a read");
        var anomaly = Assert.Single(ledger.Anomalies);
        Assert.Contains("changed with no change of the harness outstanding: [3] in force from slot 90", anomaly);
        Assert.Contains("where the harness knew [1,3] from slot 40", anomaly);
    }

    [Fact]
    public void Two_sets_in_force_from_one_slot_are_an_anomaly()
    {
        var ledger = Ledger(At(0, 1, 2, 3));
        ledger.Confirmed(At(40, 1, 3));
        ledger.Observe(At(40, 1, 2), "a read");
        Assert.Contains("two acceptor sets in force from slot 40", Assert.Single(ledger.Anomalies));
    }

    [Fact]
    public void A_change_of_unknown_outcome_explains_its_set_once_even_long_after()
    {
        var ledger = Ledger(At(0, 1, 2, 3));
        ledger.Unknown(add: false, 2, "remove node 2");
        ledger.Observe(At(0, 1, 2, 3), "not in force yet");
        // The set goes elsewhere and back, and then the old change takes effect: it may, its outcome was unknown.
        ledger.Confirmed(At(30, 1, 2, 3, 4));
        ledger.Confirmed(At(60, 1, 2, 3));
        ledger.Observe(At(90, 1, 3), "later");
        Assert.Empty(ledger.Anomalies);
        Assert.Equal(1, ledger.TookEffectLater);
        Assert.Equal(0, ledger.Outstanding);
        // Once: the same change again, after the set came back, is not explained.
        ledger.Confirmed(At(120, 1, 2, 3));
        ledger.Observe(At(150, 1, 3), "again");
        Assert.Single(ledger.Anomalies);
    }

    [Fact]
    public void A_change_of_unknown_outcome_computed_from_a_view_behind_the_log_explains_its_node_leaving_another_set()
    {
        // Asked to remove node 4 from [1,2,3,4], a restarted node whose learner still saw [2,3,4] proposed [2,3] and
        // answered 503 "the change to acceptors [2, 3] ... may still take effect": it may, when the set is [2,3,4] again.
        var ledger = Ledger(At(0, 1, 2, 3, 4));
        ledger.Unknown(add: false, 4, "remove node 4");
        ledger.Confirmed(At(30, 1, 2, 3));
        ledger.Confirmed(At(60, 1, 2, 3, 4));
        ledger.Confirmed(At(90, 2, 3, 4));
        ledger.Observe(At(120, 2, 3), "later");
        Assert.Empty(ledger.Anomalies);
        // But not another node's leaving.
        ledger.Observe(At(150, 3), "then");
        Assert.Single(ledger.Anomalies);
    }

    [Fact]
    public void An_answer_with_another_set_than_asked_is_explained_only_by_a_change_of_unknown_outcome_under_it()
    {
        var explained = Ledger(At(0, 1, 2, 3));
        explained.Unknown(add: false, 2, "remove node 2");
        explained.Unexpected([1, 2, 3], add: true, 4, At(50, 1, 3, 4), "add node 4 through node 1");
        Assert.Empty(explained.Anomalies);
        Assert.Equal([1, 3, 4], explained.Known!.Acceptors);

        var unexplained = Ledger(At(0, 1, 2, 3));
        unexplained.Unexpected([1, 2, 3], add: true, 4, At(50, 1, 3, 4), "add node 4 through node 1");
        Assert.Contains("not [1,2,3,4] as asked from [1,2,3]", Assert.Single(unexplained.Anomalies));
    }
}
