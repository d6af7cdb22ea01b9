using Akka.Actor;
using Akka.TestKit.Xunit2;
using PaxosActors.Replication;

namespace PaxosActors.Tests.Replication;

/// <summary>The applied stream's delivery: held until the node opens it, then in order to every subscriber.</summary>
public sealed class AppliedStreamSpec : TestKit
{
    private static SlotApplied Slot(long n) => new(n, [], false);

    [Fact]
    public void What_the_learner_applied_before_the_roles_started_reaches_the_subscribers_of_that_time_in_order()
    {
        var stream = new AppliedStream(Sys);
        var early = CreateTestProbe();
        stream.Subscribe(early);
        stream.Publish(new StateInstalled(5, InstallSource.Snapshot, true));
        stream.Publish(Slot(5));
        var late = CreateTestProbe();
        stream.Subscribe(late);
        early.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // held: the roles are still starting

        stream.Open();
        stream.Publish(Slot(6));

        Assert.Equal(5, early.ExpectMsg<StateInstalled>().NextSlot);
        Assert.Equal([5L, 6L], new[] { early.ExpectMsg<SlotApplied>().Slot, early.ExpectMsg<SlotApplied>().Slot });
        Assert.Equal(5, late.ExpectMsg<StateInstalled>().NextSlot); // subscribed before the stream opened
        late.ExpectMsg<SlotApplied>();
        late.ExpectMsg<SlotApplied>();
    }

    [Fact]
    public void A_subscriber_after_the_stream_opened_sees_from_the_next_slot_and_one_that_stops_is_unsubscribed()
    {
        var stream = new AppliedStream(Sys);
        stream.Open();
        stream.Publish(Slot(0));
        Assert.False(stream.Wanted); // open, nobody listening: the learner builds no message

        var probe = CreateTestProbe();
        stream.Subscribe(probe);
        stream.Subscribe(probe); // once is enough
        stream.Publish(Slot(1));
        Assert.Equal(1, probe.ExpectMsg<SlotApplied>().Slot);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Watch(probe);
        probe.Tell(PoisonPill.Instance);
        ExpectTerminated(probe);
        AwaitCondition(() => stream.Subscribers.IsEmpty);
    }
}
