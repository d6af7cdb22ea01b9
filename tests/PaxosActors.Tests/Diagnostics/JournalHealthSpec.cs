using Akka.Actor;
using System.Diagnostics.Metrics;
using Akka.Configuration;
using PaxosActors.Actors;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;
using PaxosActors.Hosting;
using PaxosActors.Persistence;
using PaxosActors.Routing;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Diagnostics;

/// <summary>
/// A journal that refuses writes, for real: the acceptor's SQLite file is capped at a few pages (the plugin's test-only
/// <c>max-page-count</c>), so SQLite answers what a full disk answers. The failure must show in <see cref="JournalHealth"/>,
/// in <see cref="NodeHealth"/> (the acceptor does not vote) and in the metrics; no vote may leave; and once the journal
/// takes writes again, the probe clears it.
/// </summary>
public sealed class JournalHealthSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _path;

    // serialize-messages off: it would put the journal's own failure reply (which carries the SqliteException) through
    // JSON, fail, and drop it, so the acceptor would never hear that its write failed. Only tests turn it on.
    public JournalHealthSpec() : this(TestConfig.NewDatabasePath()) { }

    private JournalHealthSpec(string path)
        : base(ConfigurationFactory.ParseString("akka.actor.serialize-messages = off")
            .WithFallback(TestConfig.WithJournal(path, "akka.persistence.journal.paxos-sqlite.max-page-count = 12\n"))) => _path = path;

    [Fact]
    public async Task A_full_journal_stops_the_votes_and_shows_in_the_health_and_metrics_until_the_probe_writes_again()
    {
        var metrics = PaxosMetrics.Get(Sys);
        long failures = 0, commits = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, metrics.Meter)) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "paxos.journal.write.failures") Interlocked.Add(ref failures, value);
        });
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) =>
        {
            if (instrument.Name == "paxos.journal.commit.duration") Interlocked.Increment(ref commits);
        });
        listener.Start();

        var journal = JournalHealth.Get(Sys);
        var health = new NodeHealth(journal);
        var directory = new AgentDirectory();
        var proposer = CreateTestProbe();
        var learner = CreateTestProbe();
        directory.Register(AgentId.Proposer(1), proposer);
        directory.Register(AgentId.Learner(1), learner);
        var acceptor = Sys.ActorOf(AcceptorActor.Props(7, new AcceptorOptions(new QuorumSet([7])) { DetectLostState = false }, directory,
            TimeSpan.FromMilliseconds(10), health: health));
        Watch(acceptor);
        acceptor.Tell(new Prepare(new Ballot(1, 1), 0));
        await proposer.ExpectMsgAsync<Promise>();
        Assert.True(health.AcceptorVotes);
        Assert.True(journal.AcceptsWrites);
        Assert.True(Interlocked.Read(ref commits) > 0);

        // 16 KB values: a few fit in the capped file, then a vote cannot be made durable.
        var big = SlotValue.Of(new byte[16 * 1024]);
        int accepted = 0;
        for (int slot = 0; slot < 20; slot++) acceptor.Tell(new Accept(new Ballot(1, 1), slot, big));
        await ExpectTerminatedAsync(acceptor); // Akka.Persistence stops an actor whose write failed
        while (learner.HasMessages)
        {
            await learner.ExpectMsgAsync<Accepted>();
            accepted++;
        }
        // A vote leaves only once durable: exactly the votes on disk were announced, and not all 20 fitted.
        Assert.Equal(VotesOnDisk(), accepted);
        Assert.InRange(accepted, 0, 19);

        var failure = journal.Failure;
        Assert.NotNull(failure);
        Assert.Equal("acceptor", failure.Writer);
        Assert.Equal("SQLite Error 13: 'database or disk is full'", failure.Error);
        Assert.False(health.AcceptorVotes);
        Assert.StartsWith("failing: its journal refuses writes: SQLite Error 13: 'database or disk is full'", health.Acceptor);
        Assert.False(NodeReadiness.Journal(null, health).Ready);
        Assert.False(NodeReadiness.Acceptor(true, health).Ready);
        Assert.True(Interlocked.Read(ref failures) >= 1);

        // Room again (the writer reopens its connection after a failure, and reads the cap then): the probe clears it.
        SqliteStore.CapPages(_path, ConfigurationFactory.Empty);
        Sys.ActorOf(JournalProbe.Props(7, TimeSpan.FromMilliseconds(100)));
        await AwaitAssertAsync(() => Assert.True(journal.AcceptsWrites), TimeSpan.FromSeconds(10));
        Assert.True(health.AcceptorVotes);
        Assert.Equal("voting", health.Acceptor);
        Assert.True(NodeReadiness.Journal(null, health).Ready);
    }

    private long VotesOnDisk()
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_path}");
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM paxos_journal WHERE length(payload) >= 16384";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void A_failure_stands_until_its_writer_writes_again_or_the_probe_writes_after_a_quiet_period()
    {
        var journal = new JournalHealth();
        journal.Failed("acceptor", new AggregateException(new InvalidOperationException("disk on fire.")));
        Assert.Equal("InvalidOperationException: disk on fire", journal.Failure!.Error);

        journal.Succeeded("learner");                      // another writer's small write: still failing
        journal.ProbeSucceeded(TimeSpan.FromHours(1));     // the probe, too soon after the failure: still failing
        Assert.False(journal.AcceptsWrites);

        journal.Succeeded("acceptor");                     // the writer that failed: it accepts writes
        Assert.True(journal.AcceptsWrites);

        journal.Failed("acceptor", new InvalidOperationException("again"));
        journal.ProbeSucceeded(TimeSpan.Zero);             // the probe after the quiet period
        Assert.True(journal.AcceptsWrites);
    }

    [Fact]
    public void The_learner_is_ready_within_the_lag_bound_and_not_beyond_it_nor_when_it_does_not_answer()
    {
        var near = new LearnerStatus(1, NextToApply: 90, HighestDecided: 99);
        var far = new LearnerStatus(1, NextToApply: 10, HighestDecided: 20) { LeaderFirstUnchosen = 1_500 };
        Assert.Equal(10, near.Lag);
        Assert.True(NodeReadiness.Learner(true, near, maxLag: 10).Ready);
        Assert.Equal(1_490, far.Lag);
        var verdict = NodeReadiness.Learner(true, far, maxLag: 1000);
        Assert.False(verdict.Ready);
        Assert.Contains("over paxos.health.max-learner-lag (1000)", verdict.Reason);
        Assert.False(NodeReadiness.Learner(true, null, 1000).Ready);
        Assert.True(NodeReadiness.Learner(false, null, 1000).Ready);
    }

    [Fact]
    public void A_node_without_an_acceptor_is_ready_on_that_count_and_a_refusing_one_is_not()
    {
        var health = new NodeHealth(new JournalHealth());
        Assert.True(NodeReadiness.Acceptor(false, health).Ready);
        health.SetAcceptor(false, "refusing: lost its state");
        Assert.Equal(new Readiness(false, "refusing: lost its state"), NodeReadiness.Acceptor(true, health));
        health.SetAcceptor(true, "removed: not an acceptor from slot 40 on");
        Assert.True(NodeReadiness.Acceptor(true, health).Ready);
    }
}
