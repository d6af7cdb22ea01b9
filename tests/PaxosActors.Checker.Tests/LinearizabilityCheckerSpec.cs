using System.Diagnostics;
using PaxosActors.Checker.Tests.Support;

namespace PaxosActors.Checker.Tests;

public sealed class LinearizabilityCheckerSpec
{
    static void AssertRejected(CheckResult result, string key = "k", params int[] witnessIds)
    {
        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        var violation = Assert.IsType<KeyResult>(result.Violation);
        Assert.Equal(key, violation.Key);
        Assert.Contains(key, violation.Explanation);
        foreach (int id in witnessIds)
            Assert.Contains(violation.Witness, o => o.Id == id);
    }

    [Fact]
    public void Accepts_a_sequential_history()
    {
        var result = new History()
            .Read(1, null, 0, 1)
            .Write(1, "a", 2, 3)
            .Read(2, "a", 4, 5)
            .Write(2, "b", 6, 7)
            .Read(1, "b", 8, 9)
            .Delete(1, 10, 11, existed: true)
            .Read(2, null, 12, 13)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal(7, result.Summary.Operations);
        Assert.Equal(1, result.Summary.Keys);
    }

    [Fact]
    public void Accepts_a_read_overlapping_a_write_whether_it_saw_the_old_or_the_new_value()
    {
        History Overlap(string? seen) => new History()
            .Write(1, "a", 0, 1)
            .Write(1, "b", 2, 10)
            .Read(2, seen, 3, 9);

        Assert.Equal(Verdict.Linearizable, Overlap("a").Check().Verdict);
        Assert.Equal(Verdict.Linearizable, Overlap("b").Check().Verdict);
    }

    [Fact]
    public void Accepts_overlapping_reads_that_saw_the_new_then_the_old_value_only_in_that_order()
    {
        // Both reads overlap the write; the first to return saw "b", so the later one may not see "a".
        var inverted = new History()
            .Write(1, "a", 0, 1)
            .Write(1, "b", 2, 20)
            .Read(2, "b", 3, 5)
            .Read(3, "a", 6, 8)
            .Check();
        var inOrder = new History()
            .Write(1, "a", 0, 1)
            .Write(1, "b", 2, 20)
            .Read(2, "a", 3, 5)
            .Read(3, "b", 6, 8)
            .Check();

        AssertRejected(inverted, "k", 2, 3);
        Assert.Equal(Verdict.Linearizable, inOrder.Verdict);
    }

    [Fact]
    public void Rejects_a_stale_read_that_returns_an_older_value_after_a_newer_write_completed()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Write(2, "b", 2, 3)
            .Read(3, "a", 4, 5)
            .Check();

        AssertRejected(result, "k", 0, 1, 2);
        Assert.Equal(3, result.Violation!.Witness.Count);
        Assert.Contains("read #2 saw the value of #0, though #1 overwrote it", result.Violation.Explanation);
    }

    [Fact]
    public void Rejects_a_lost_write_that_a_later_read_does_not_see()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Read(2, "a", 2, 3)
            .Write(1, "b", 4, 5)
            .Read(2, "a", 6, 7)
            .Check();

        AssertRejected(result, "k", 2, 3);
    }

    [Fact]
    public void Rejects_a_lost_first_write_when_a_later_read_finds_the_key_absent()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Read(2, null, 2, 3)
            .Check();

        AssertRejected(result, "k", 0, 1);
    }

    [Fact]
    public void Rejects_a_read_of_a_value_never_written()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Read(2, "zzz", 2, 3)
            .Check();

        AssertRejected(result, "k", 1);
        Assert.Contains("no operation on this key ever wrote \"zzz\"", result.Violation!.Explanation);
    }

    [Fact]
    public void Rejects_a_read_of_a_value_only_a_failed_write_wrote()
    {
        var result = new History()
            .Write(1, "a", 0, 1, OpStatus.Fail)
            .Read(2, "a", 2, 3)
            .Check();

        AssertRejected(result, "k", 0, 1);
    }

    [Fact]
    public void Ignores_a_failed_write_that_nobody_saw()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Write(2, "b", 2, 3, OpStatus.Fail)
            .Read(3, "a", 4, 5)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal(1, result.Summary.Fail);
    }

    [Fact]
    public void Accepts_an_info_write_that_took_effect_long_after_its_invocation()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Write(2, "b", 2, 3, OpStatus.Info)
            .Read(3, "a", 10, 11)
            .Read(3, "b", 20, 21)
            .Read(4, "b", 30, 31)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal(1, result.Summary.Info);
    }

    [Fact]
    public void Accepts_an_info_write_that_never_took_effect()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Write(2, "b", 2, 3, OpStatus.Info)
            .Read(3, "a", 10, 11)
            .Read(3, "a", 20, 21)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }

    [Fact]
    public void Rejects_an_info_write_seen_then_not_seen_then_seen_again()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Write(2, "b", 2, 3, OpStatus.Info)
            .Read(3, "b", 10, 11)
            .Read(3, "a", 20, 21)
            .Read(4, "b", 30, 31)
            .Check();

        // "Seen, then not seen" already cannot be ordered: the witness stops at the read of "a".
        AssertRejected(result, "k", 0, 1, 2, 3);
    }

    [Fact]
    public void Accepts_a_cas_that_swapped_consistently_with_the_order()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Cas(2, "a", "b", swapped: true, 2, 10)
            .Read(3, "a", 3, 4)
            .Read(3, "b", 11, 12)
            .Cas(1, "a", "c", swapped: false, 13, 14)
            .Cas(1, null, "d", swapped: false, 15, 16)
            .Read(1, "b", 17, 18)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }

    [Fact]
    public void Rejects_two_successful_cas_from_the_same_expected_value_without_an_intervening_write()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Cas(2, "a", "b", swapped: true, 2, 10)
            .Cas(3, "a", "c", swapped: true, 3, 9)
            .Check();

        AssertRejected(result, "k", 1, 2);
    }

    [Fact]
    public void Accepts_two_successful_cas_from_the_same_expected_value_when_a_write_restores_it()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Cas(2, "a", "b", swapped: true, 2, 10)
            .Cas(3, "a", "c", swapped: true, 3, 9)
            .Write(4, "a", 3, 8)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }

    [Fact]
    public void Rejects_a_failed_cas_whose_expected_value_must_have_been_current()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Cas(2, "a", "b", swapped: false, 2, 3)
            .Read(3, "a", 4, 5)
            .Check();

        AssertRejected(result, "k", 1);
    }

    [Fact]
    public void Rejects_a_cas_that_swapped_from_absent_after_a_write_completed()
    {
        var result = new History()
            .Write(1, "a", 0, 1)
            .Cas(2, null, "b", swapped: true, 2, 3)
            .Check();

        AssertRejected(result, "k", 0, 1);
    }

    [Fact]
    public void Accepts_a_delete_and_rejects_a_read_that_still_sees_the_deleted_value()
    {
        History After(string? seen) => new History()
            .Write(1, "a", 0, 1)
            .Delete(2, 2, 3, existed: true)
            .Read(3, seen, 4, 5);

        Assert.Equal(Verdict.Linearizable, After(null).Check().Verdict);
        AssertRejected(After("a").Check(), "k", 0, 1, 2);
    }

    [Fact]
    public void Rejects_a_delete_that_claims_the_key_existed_when_it_cannot_have()
    {
        var result = new History()
            .Read(1, null, 0, 1)
            .Delete(2, 2, 3, existed: true)
            .Check();

        AssertRejected(result, "k", 1);
    }

    [Fact]
    public void Keys_are_independent_and_a_violation_names_its_key()
    {
        var result = new History()
            .Write(1, "a", 0, 1, key: "good")
            .Write(1, "x", 0, 1, key: "bad")
            .Write(2, "y", 2, 3, key: "bad")
            .Read(2, "a", 4, 5, key: "good")
            .Read(3, "x", 4, 5, key: "bad")
            // The same value under another key does not count as written here.
            .Read(3, "b", 6, 7, key: "other")
            .Write(4, "b", 0, 1, key: "also-good")
            .Read(4, "b", 2, 3, key: "also-good")
            .Check();

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal(["also-good", "bad", "good", "other"], result.Keys.Select(k => k.Key));
        Assert.Equal(["bad", "other"], result.Violations.Select(k => k.Key));
        Assert.Equal(Verdict.Linearizable, result.Keys.Single(k => k.Key == "good").Verdict);
        Assert.Equal(Verdict.Linearizable, result.Keys.Single(k => k.Key == "also-good").Verdict);
        Assert.All(result.Violation!.Witness, o => Assert.Equal("bad", o.Key));
        Assert.StartsWith("key bad:", result.Violation.Explanation);
    }

    [Fact]
    public void Reports_unknown_instead_of_hanging_when_the_time_budget_runs_out()
    {
        // 40 fully concurrent writes then two reads that disagree: refuting it means trying every
        // subset of the writes, far more than a 200 ms budget allows.
        var history = new History();
        for (int i = 0; i < 40; i++) history.Write(i, $"v{i}", 0, 100);
        history.Read(100, "v0", 200, 201).Read(100, "v1", 202, 203);
        var clock = Stopwatch.StartNew();

        var result = LinearizabilityChecker.Check(history.Operations, TimeSpan.FromMilliseconds(200));

        Assert.Equal(Verdict.Unknown, result.Verdict);
        Assert.Equal(1, result.Summary.UnknownKeys);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Operations_that_returned_at_the_same_instant_another_was_invoked_count_as_concurrent()
    {
        // Equal timestamps cannot order two operations; treating them as overlapping avoids a false alarm.
        var result = new History()
            .Write(1, "a", 0, 5)
            .Write(2, "b", 5, 6)
            .Read(3, "a", 6, 7)
            .Check();

        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }
}
