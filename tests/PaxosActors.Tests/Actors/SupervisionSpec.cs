using System.Diagnostics;
using Akka.Actor;
using Akka.Configuration;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.TestKit;
using PaxosActors.Actors;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;

namespace PaxosActors.Tests.Actors;

/// <summary>A role whose journal fails comes back under its backoff supervisor, later each time.</summary>
public sealed class SupervisionSpec : Akka.TestKit.Xunit2.TestKit
{
    private static readonly Config JournalThatCanFail = ConfigurationFactory.ParseString("""
        akka.loglevel = OFF
        akka.persistence {
          journal {
            plugin = "akka.persistence.journal.test"
            test.class = "Akka.Persistence.TestKit.TestJournal, Akka.Persistence.TestKit"
          }
          snapshot-store {
            plugin = "akka.persistence.snapshot-store.test"
            test.class = "Akka.Persistence.TestKit.TestSnapshotStore, Akka.Persistence.TestKit"
          }
        }
        """);

    public SupervisionSpec() : base(JournalThatCanFail) { }

    [Fact]
    public async Task Acceptor_whose_journal_write_fails_is_restarted_with_growing_delays()
    {
        var journal = TestJournal.FromRef(Akka.Persistence.Persistence.Instance.Apply(Sys).JournalFor(null));
        await journal.OnWrite.Fail();
        var directory = new AgentDirectory();
        var learner = CreateTestProbe();
        directory.Register(AgentId.Learner(1), learner);

        var options = new AcceptorOptions(new QuorumSet([7])) { DetectLostState = false };
        var supervisor = Sys.ActorOf(RoleSupervisor.Props(AcceptorActor.Props(7, options, directory, TimeSpan.FromMilliseconds(10)), "acceptor",
            minBackoff: TimeSpan.FromMilliseconds(200), maxBackoff: TimeSpan.FromSeconds(10), randomFactor: 0));
        var clock = Stopwatch.StartNew();
        var gaps = new List<TimeSpan>(); // from a child's stop to its successor's start
        IActorRef? child = await NextChildAsync(supervisor, null);
        for (int i = 0; i < 4; i++)
        {
            Watch(child);
            child.Tell(new Accept(new Ballot(1, 1), i, SlotValue.NoOp)); // the write fails: the acceptor stops
            await ExpectTerminatedAsync(child);
            var stoppedAt = clock.Elapsed;
            child = await NextChildAsync(supervisor, child);
            gaps.Add(clock.Elapsed - stoppedAt);
        }
        await learner.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // no failed write was acknowledged

        // min-backoff 200 ms doubling, no randomness: 200, 400, 800, 1600 ms at least. A loaded machine
        // adds to a delay but never takes away, so the lower bounds are what proves the growth; the
        // last restart must also come more than twice as late as the first would without backoff.
        string measured = string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0} ms"));
        for (int i = 0; i < gaps.Count; i++)
            Assert.True(gaps[i] >= TimeSpan.FromMilliseconds(200 * (1 << i) * 0.95), $"restart {i + 1} came too early: {measured}");
        Assert.True(gaps[^1] > gaps[0] * 2, $"restart delays must grow: {measured}");
        var restarts = await supervisor.Ask<BackoffSupervisor.RestartCount>(BackoffSupervisor.GetRestartCount.Instance);
        Assert.Equal(4, restarts.Count);

        await journal.OnWrite.Pass(); // the disk is back: the current incarnation works
        child.Tell(new Accept(new Ballot(1, 1), 9, SlotValue.NoOp));
        Assert.Equal(new Accepted(new Ballot(1, 1), 9, 7), await learner.ExpectMsgAsync<Accepted>());
    }

    private async Task<IActorRef> NextChildAsync(IActorRef supervisor, IActorRef? previous)
    {
        IActorRef? found = null;
        await AwaitAssertAsync(async () =>
        {
            var current = await supervisor.Ask<BackoffSupervisor.CurrentChild>(BackoffSupervisor.GetCurrentChild.Instance);
            Assert.NotNull(current.Ref);
            Assert.NotEqual(previous, current.Ref);
            found = current.Ref;
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(5));
        return found!;
    }
}
