using Akka.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Kv.Hosting;

namespace PaxosActors.Kv.Tests;

/// <summary>What <see cref="KvService"/> tells other threads about the store the learner applies to.</summary>
public sealed class KvServiceTests
{
    private static SlotValue Put(ulong client, long seq, string key) =>
        SlotValue.Of(KvCodec.Encode(new KvCommand.Put(new CommandId(client, seq), 0, key, "v"u8.ToArray())));

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
}
