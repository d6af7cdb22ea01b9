using System.Collections.Concurrent;
using System.Collections.Immutable;
using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using PaxosActors.Persistence;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Persistence;

/// <summary>
/// The durability settings of the connections the journal and the snapshot store actually use: every use of every
/// connection (the writer's, before each commit; the pooled ones that create the tables, replay, read the highest
/// sequence number and load, save and delete snapshots) is reported by <see cref="SqliteStore.ConnectionInUse"/>, and
/// this spec asks SQLite, on that very connection, for its <c>synchronous</c> and <c>journal_mode</c>. A commit on
/// a connection at <c>synchronous=FULL</c> in WAL mode is fsynced before it returns; that this matters, and holds up
/// to a power cut, is tests/PaxosActors.Durability.Tests.
/// </summary>
public sealed class JournalConnectionSpec : IDisposable
{
    /// <summary>Every way the plugins use a connection.</summary>
    private static readonly string[] Uses =
        ["create tables", "write", "replay", "highest sequence number", "snapshot save", "snapshot load", "snapshot delete"];

    private readonly string _path = TestConfig.NewDatabasePath();
    private readonly ConcurrentQueue<Observed> _observed = new();

    private sealed record Observed(string Use, long Synchronous, string JournalMode, int ThreadId);

    public JournalConnectionSpec()
    {
        string path = Path.GetFullPath(_path);
        SqliteStore.ConnectionInUse = (file, use, connection) =>
        {
            if (Path.GetFullPath(file) != path) return;
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA synchronous;";
            long synchronous = (long)cmd.ExecuteScalar()!;
            cmd.CommandText = "PRAGMA journal_mode;";
            string mode = (string)cmd.ExecuteScalar()!;
            _observed.Enqueue(new Observed(use, synchronous, mode, Environment.CurrentManagedThreadId));
        };
    }

    public void Dispose()
    {
        SqliteStore.ConnectionInUse = null;
        SqliteConnection.ClearAllPools();
        foreach (string f in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            try { File.Delete(f); }
            catch (IOException) { }
        }
    }

    [Fact]
    public async Task Every_connection_the_journal_and_snapshot_store_use_runs_WAL_with_synchronous_FULL()
    {
        await ExerciseEveryUseAsync("");

        Assert.Equal(Uses.Order(), _observed.Select(o => o.Use).Distinct().Order());
        Assert.All(_observed, o =>
        {
            Assert.True(o.Synchronous == 2, $"{o.Use}: PRAGMA synchronous = {o.Synchronous}, not 2 (FULL)");
            Assert.True(o.JournalMode == "wal", $"{o.Use}: PRAGMA journal_mode = {o.JournalMode}, not wal");
        });
        // The writer's connection is one connection on one thread, asked before each of its commits.
        var writes = _observed.Where(o => o.Use == "write").ToList();
        Assert.True(writes.Count >= 2, $"{writes.Count} commits observed");
        Assert.Single(writes.Select(o => o.ThreadId).Distinct());
    }

    /// <summary>The setting that the power-cut test's negative control turns down reaches every connection too.</summary>
    [Theory]
    [InlineData("full", 2L)]
    [InlineData("normal", 1L)]
    [InlineData("off", 0L)]
    public async Task The_synchronous_setting_of_the_plugins_reaches_every_connection(string setting, long expected)
    {
        await ExerciseEveryUseAsync($"""
            akka.persistence.journal.paxos-sqlite.synchronous = {setting}
            akka.persistence.snapshot-store.paxos-sqlite.synchronous = {setting}
            """);

        Assert.Equal(Uses.Order(), _observed.Select(o => o.Use).Distinct().Order());
        Assert.All(_observed, o => Assert.True(o.Synchronous == expected, $"{o.Use}: PRAGMA synchronous = {o.Synchronous}, not {expected}"));
    }

    [Theory]
    [InlineData("extra")]
    [InlineData("on")]
    [InlineData("")]
    public void A_synchronous_setting_other_than_full_normal_or_off_is_a_configuration_error(string setting)
    {
        var config = ConfigurationFactory.ParseString($"synchronous = \"{setting}\"");
        var e = Assert.Throws<ConfigurationException>(() => SqliteStore.SynchronousOf(config));
        Assert.Contains("full (the default), normal or off", e.Message);
        Assert.Equal(SqliteStore.Full, SqliteStore.SynchronousOf(ConfigurationFactory.Empty));
    }

    /// <summary>Drives the journal and the snapshot store through Akka.Persistence's plugin protocol so that each
    /// opens and uses every kind of connection: write, replay (with the highest sequence number), delete, and save,
    /// load and delete snapshots.</summary>
    private async Task ExerciseEveryUseAsync(string extraConfig)
    {
        // serialize-messages off, as in JournalPluginSpec: the journal's replies travel wrapped in a message that
        // would go through the JSON serializer and lose them.
        var config = ConfigurationFactory.ParseString("akka.actor.serialize-messages = off")
            .WithFallback(TestConfig.WithJournal(_path, extraConfig));
        using var kit = new Akka.TestKit.Xunit2.TestKit(config, "journal-connection-spec");
        var persistence = Akka.Persistence.Persistence.Instance.Apply(kit.Sys);
        var journal = persistence.JournalFor(null);
        var snapshots = persistence.SnapshotStoreFor(null);
        var probe = kit.CreateTestProbe();
        const string pid = "connection-spec";
        string writer = Guid.NewGuid().ToString();

        for (int seq = 1; seq <= 3; seq++)
        {
            var events = ImmutableList.Create<IPersistentRepresentation>(
                new Persistent($"event-{seq}", seq, pid, "", false, ActorRefs.NoSender, writer));
            journal.Tell(new WriteMessages([new AtomicWrite(events)], probe.Ref, 1), probe.Ref);
            await probe.ExpectMsgAsync<WriteMessagesSuccessful>();
            await probe.ExpectMsgAsync<WriteMessageSuccess>();
        }

        journal.Tell(new ReplayMessages(1, long.MaxValue, long.MaxValue, pid, probe.Ref), probe.Ref);
        for (int seq = 1; seq <= 3; seq++)
            Assert.Equal($"event-{seq}", (await probe.ExpectMsgAsync<ReplayedMessage>()).Persistent.Payload);
        Assert.Equal(3, (await probe.ExpectMsgAsync<RecoverySuccess>()).HighestSequenceNr);

        journal.Tell(new DeleteMessagesTo(pid, 2, probe.Ref), probe.Ref);
        await probe.ExpectMsgAsync<DeleteMessagesSuccess>();

        var saved = new SnapshotMetadata(pid, 3, DateTime.MinValue); // the store stamps it
        snapshots.Tell(new SaveSnapshot(saved, "snapshot-3"), probe.Ref);
        saved = (await probe.ExpectMsgAsync<SaveSnapshotSuccess>()).Metadata;
        snapshots.Tell(new LoadSnapshot(pid, SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        Assert.Equal("snapshot-3", (await probe.ExpectMsgAsync<LoadSnapshotResult>()).Snapshot?.Snapshot);
        snapshots.Tell(new DeleteSnapshot(saved), probe.Ref);
        await probe.ExpectMsgAsync<DeleteSnapshotSuccess>();
        snapshots.Tell(new DeleteSnapshots(pid, SnapshotSelectionCriteria.Latest), probe.Ref);
        await probe.ExpectMsgAsync<DeleteSnapshotsSuccess>();

        await kit.Sys.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
    }
}
