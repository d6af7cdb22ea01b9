using PaxosActors.Checker.Tests.Support;
using Xunit.Abstractions;

namespace PaxosActors.Checker.Tests;

public sealed class LargeHistorySpec(ITestOutputHelper output)
{
    // Generous against a shared 2-core machine; the checks themselves take well under a second (see output).
    static readonly TimeSpan Budget = TimeSpan.FromSeconds(30);
    static readonly TimeSpan Expected = TimeSpan.FromSeconds(10);

    CheckResult CheckTimed(List<Operation> ops)
    {
        var result = LinearizabilityChecker.Check(ops, Budget);
        output.WriteLine(result.ToString());
        Assert.True(result.Summary.Duration < Expected, $"took {result.Summary.Duration}");
        return result;
    }

    [Fact]
    public void A_generated_linearizable_history_of_20000_operations_over_1000_keys_checks_as_linearizable_within_seconds()
    {
        var ops = Simulation.Generate(new(Operations: 20_000, Keys: 1_000, Clients: 16, CasAndDelete: true));

        var result = CheckTimed(ops);

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal((20_000, 1_000), (result.Summary.Operations, result.Summary.Keys));
        Assert.True(result.Summary.Info > 0 && result.Summary.Fail > 0);
    }

    [Fact]
    public void A_generated_linearizable_history_of_20000_operations_on_4_hot_keys_checks_as_linearizable_within_seconds()
    {
        // 5,000 operations per key with 16 clients: long per-key histories with real overlap.
        var ops = Simulation.Generate(new(Operations: 20_000, Keys: 4, Clients: 16, CasAndDelete: true, Seed: 2));

        var result = CheckTimed(ops);

        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }

    [Fact]
    public void A_generated_read_write_history_with_one_injected_stale_read_is_rejected_on_that_key()
    {
        var ops = Simulation.Generate(new(Operations: 20_000, Keys: 1_000, Clients: 16, CasAndDelete: false, Seed: 3));
        var (read, older, newer) = FindStaleReadSite(ops);
        ops[read.Id] = read with { Value = older.Value };
        output.WriteLine($"injected: {ops[read.Id]} after {older} and {newer}");

        var result = CheckTimed(ops);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        var violation = Assert.Single(result.Violations);
        Assert.Equal(read.Key, violation.Key);
        Assert.Contains(violation.Witness, o => o.Id == read.Id);
        Assert.Contains(violation.Witness, o => o.Id == older.Id);
        Assert.True(violation.Witness.Count <= 4, violation.Explanation);
        Assert.All(result.Keys.Where(k => k.Key != read.Key), k => Assert.Equal(Verdict.Linearizable, k.Verdict));
    }

    [Fact]
    public void A_generated_history_on_hot_keys_with_one_injected_stale_read_is_rejected()
    {
        var ops = Simulation.Generate(new(Operations: 20_000, Keys: 4, Clients: 16, CasAndDelete: false, Seed: 4));
        var (read, older, _) = FindStaleReadSite(ops);
        ops[read.Id] = read with { Value = older.Value };

        var result = CheckTimed(ops);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal(read.Key, Assert.Single(result.Violations).Key);
        Assert.Contains(result.Violation!.Witness, o => o.Id == read.Id);
    }

    /// <summary>The last completed read with two completed writes before it on its key, one entirely before the
    /// other: returning the older write's (unique) value there is certainly stale.</summary>
    static (Operation Read, Operation Older, Operation Newer) FindStaleReadSite(List<Operation> ops)
    {
        var writes = ops.Where(o => o.Kind == OpKind.Write && o.Status == OpStatus.Ok).ToLookup(o => o.Key);
        foreach (var read in ops.Where(o => o.Kind == OpKind.Read && o.Status == OpStatus.Ok).Reverse())
        {
            var before = writes[read.Key].Where(w => w.ReturnNs < read.InvokeNs).ToList();
            foreach (var newer in before.OrderByDescending(w => w.InvokeNs))
                if (before.LastOrDefault(w => w.ReturnNs < newer.InvokeNs && w.Value != read.Value) is { } older)
                    return (read, older, newer);
        }
        throw new InvalidOperationException("the generated history has no site for a stale read");
    }
}
