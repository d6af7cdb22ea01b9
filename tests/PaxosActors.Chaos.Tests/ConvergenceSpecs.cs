using PaxosActors.Tools.Chaos;

namespace PaxosActors.Chaos.Tests;

/// <summary>When the harness calls the nodes converged: the same applied slot and the same digest of every key and value,
/// each digest describing the slot its node's learner applied last, and the same acceptor set in force. Equal slots and key
/// counts are not enough.</summary>
public sealed class ConvergenceSpecs
{
    private static NodeStatus At(long slot, string digest, long keys = 3, long? kvSlot = null, int[]? acceptors = null) =>
        new(Leader: 1, AppliedSlot: slot, Keys: keys, KvAppliedSlot: kvSlot ?? slot, KvDigest: digest, Acceptors: acceptors ?? [1, 2, 3]);

    [Fact]
    public void Nodes_at_one_slot_with_one_digest_have_converged()
    {
        Assert.True(ChaosRun.Converged([At(40, "00000000000000aa"), At(40, "00000000000000aa"), At(40, "00000000000000aa")]));
    }

    [Fact]
    public void Nodes_at_one_slot_with_as_many_keys_but_another_digest_have_not()
    {
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), At(40, "00000000000000aa"), At(40, "00000000000000bb")]));
    }

    [Fact]
    public void Nodes_at_different_slots_have_not()
    {
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), At(41, "00000000000000aa"), At(40, "00000000000000aa")]));
    }

    [Fact]
    public void A_digest_of_another_slot_than_the_learner_applied_does_not_count()
    {
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), At(40, "00000000000000aa", kvSlot: 39), At(40, "00000000000000aa")]));
    }

    [Fact]
    public void Nodes_at_one_slot_and_digest_with_another_acceptor_set_in_force_have_not()
    {
        Assert.True(ChaosRun.Converged([At(40, "00000000000000aa", acceptors: [2, 3, 4]), At(40, "00000000000000aa", acceptors: [2, 3, 4])]));
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa", acceptors: [2, 3, 4]), At(40, "00000000000000aa", acceptors: [1, 2, 3])]));
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), new NodeStatus(1, 40, 3, 40, "00000000000000aa")])); // no set reported
    }

    [Fact]
    public void A_node_that_does_not_answer_or_reports_no_digest_has_not()
    {
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), null, At(40, "00000000000000aa")]));
        Assert.False(ChaosRun.Converged([At(40, "00000000000000aa"), new NodeStatus(1, 40, 3), At(40, "00000000000000aa")]));
        Assert.False(ChaosRun.Converged([]));
    }
}
