using Akka.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Kv.Hosting;

namespace PaxosActors.Kv.Tests;

/// <summary>What <see cref="KvService"/> tells other threads about the store the learner applies to.</summary>
public sealed class KvServiceTests
{
    private static SlotValue Put(ulong client, long seq, string key) =>
        SlotValue.Of(KvCodec.Encode(new KvCommand.Put(new CommandId(client, seq), 0, key, "v"u8.ToArray())));

    private static SlotValue Put(ulong client, long seq, string key, string value) =>
        SlotValue.Of(KvCodec.Encode(new KvCommand.Put(new CommandId(client, seq), 0, key, System.Text.Encoding.UTF8.GetBytes(value))));

    [Fact]
    public void The_key_count_follows_what_the_learner_applied_and_restored()
    {
        var service = new KvService(KvSettings.Create(ConfigurationFactory.Empty), clientId: 7);
        Assert.Null(service.KeyCount); // no learner yet

        var learner = service.CreateStateMachine();
        Assert.Equal(0, service.KeyCount);
        learner.Apply(0, Put(1, 1, "a"));
        learner.Apply(1, Put(1, 2, "b"));
        learner.Apply(2, Put(1, 3, "a"));
        Assert.Equal(2, service.KeyCount);
        byte[] snapshot = learner.TakeSnapshot();

        // A learner restart starts from an empty store and recovers; the replaced one no longer speaks for it.
        var restarted = service.CreateStateMachine();
        Assert.Equal(0, service.KeyCount);
        learner.Apply(3, Put(1, 4, "c"));
        Assert.Equal(0, service.KeyCount);
        restarted.RestoreSnapshot(snapshot);
        Assert.Equal(2, service.KeyCount);
    }

    [Fact]
    public void The_view_names_the_slot_keys_and_digest_of_one_applied_state()
    {
        var service = new KvService(KvSettings.Create(ConfigurationFactory.Empty), clientId: 7);
        Assert.Null(service.View);

        var learner = service.CreateStateMachine();
        Assert.Equal(new KvView(-1, 0, service.StateMachine!.ContentDigest), service.View);
        learner.Apply(0, Put(1, 1, "a", "1"));
        learner.Apply(1, Put(1, 2, "b", "2"));
        var view = service.View!;
        Assert.Equal(1, view.AppliedSlot);
        Assert.Equal(2, view.Keys);
        Assert.Equal(service.StateMachine.ContentDigest, view.Digest);

        learner.Apply(2, SlotValue.NoOp);
        Assert.Equal(2, service.View!.AppliedSlot);
        Assert.NotEqual(view.Digest, service.View.Digest); // the slot is part of it

        // Another node that applied the same slots in its own learner: the same view.
        var other = new KvService(KvSettings.Create(ConfigurationFactory.Empty), clientId: 8);
        var otherLearner = other.CreateStateMachine();
        otherLearner.Apply(0, Put(1, 1, "a", "1"));
        otherLearner.Apply(1, Put(1, 2, "b", "2"));
        otherLearner.Apply(2, SlotValue.NoOp);
        Assert.Equal(service.View, other.View);

        // A restored snapshot publishes its own state; a replaced learner's applies no longer do.
        byte[] snapshot = learner.TakeSnapshot();
        var restarted = service.CreateStateMachine();
        Assert.Equal(-1, service.View!.AppliedSlot);
        restarted.RestoreSnapshot(snapshot);
        Assert.Equal(other.View, service.View);
        learner.Apply(3, Put(1, 3, "c", "3"));
        Assert.Equal(other.View, service.View);
    }

    [Fact]
    public void A_local_read_answers_from_the_learners_state_without_the_log()
    {
        var service = new KvService(KvSettings.Create(ConfigurationFactory.Empty), clientId: 7);
        Assert.Throws<KvUnavailableException>(() => service.ReadLocal("a"));
        var learner = service.CreateStateMachine();
        Assert.Equal(KvResult.Found((byte[]?)null), service.ReadLocal("a"));
        learner.Apply(0, Put(1, 1, "a", "1"));
        Assert.Equal("1", System.Text.Encoding.UTF8.GetString(service.ReadLocal("a").Value!.Value.Span));
    }
}
