using System.Collections.Immutable;
using Akka.Actor;
using Akka.Persistence;
using Akka.TestKit;
using Microsoft.Data.Sqlite;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Persistence;
using PaxosActors.Serialization;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Persistence;

/// <summary>
/// A conformance suite for the node's journal and snapshot store, in the spirit of Akka's persistence TCK: whatever
/// plugin <see cref="SqliteJournal.Config"/> selects is driven through Akka.Persistence's plugin protocol
/// (<see cref="WriteMessages"/>, <see cref="ReplayMessages"/>, <see cref="DeleteMessagesTo"/>, <see cref="SaveSnapshot"/>,
/// <see cref="LoadSnapshot"/>, <see cref="DeleteSnapshot"/>, <see cref="DeleteSnapshots"/>) and through real persistent
/// actors, on its own SQLite file per test. Nothing here knows the plugin's tables: only what Akka.Persistence promises
/// a persistent actor. "Restart" means a second ActorSystem on the same file after the first one has terminated.
/// </summary>
public sealed class JournalPluginSpec : Akka.TestKit.Xunit2.TestKit
{
    private const int ActorInstanceId = 1;
    private readonly string _path;
    private readonly string _writerGuid = Guid.NewGuid().ToString();
    private int _systems;

    public JournalPluginSpec() : this(TestConfig.NewDatabasePath()) { }

    private JournalPluginSpec(string path) : base(SpecConfig(path), "journal-plugin-spec") => _path = path;

    /// <summary>
    /// The project's test configuration on <paramref name="path"/>, but with <c>serialize-messages</c> off. The journal
    /// protocol's messages are exempt from that check, but AsyncWriteJournal sends its write replies through an internal
    /// resequencer wrapped in a message that is not, so with it on every WriteMessageSuccess reaches its receiver after
    /// a round trip through the default JSON serializer: a SlotValue comes back with its commands emptied, and a
    /// WriteMessageRejected (its exception) never arrives. The probes must see what the plugin answered; the plugin
    /// itself still stores every event and snapshot through Akka serialization, which is what is under test.
    /// </summary>
    private static Akka.Configuration.Config SpecConfig(string path) =>
        Akka.Configuration.ConfigurationFactory.ParseString("akka.actor.serialize-messages = off")
            .WithFallback(TestConfig.WithJournal(path));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!disposing) return;
        SqliteConnection.ClearAllPools();
        foreach (string f in new[] { _path, _path + "-wal", _path + "-shm" })
        {
            try { File.Delete(f); }
            catch (IOException) { } // a plugin that keeps its own handle: the temp folder keeps the file
        }
    }

    // ---- 1. write, and replay all, a range, a count, an unknown id ----

    [Fact]
    public async Task Replays_all_events_a_sequence_range_and_a_count_limit_with_the_highest_sequence_number()
    {
        var writer = CreateTestProbe();
        await WriteAsync(Journal, writer, Enumerable.Range(1, 5).Select(i => Single(Event("p", i), i, "p")).ToArray());

        var all = await ReplayAsync(Journal, "p");
        Assert.Equal(5, all.Highest);
        Assert.Equal(Events("p", 1, 2, 3, 4, 5), all.Payloads);
        Assert.Equal([1L, 2, 3, 4, 5], all.SequenceNrs);
        Assert.All(all.Replayed, p =>
        {
            Assert.Equal("p", p.PersistenceId);
            Assert.False(p.IsDeleted);
            // Akka.Persistence.Sql replays its own journal instance's writer id, not the event's: only ask for one
            Assert.False(string.IsNullOrEmpty(p.WriterGuid));
            Assert.True(p.Sender is null || p.Sender.IsNobody() || p.Sender.Equals(Sys.DeadLetters), $"replayed sender {p.Sender}");
        });

        var range = await ReplayAsync(Journal, "p", from: 2, to: 4);
        Assert.Equal(Events("p", 2, 3, 4), range.Payloads);
        Assert.Equal(5, range.Highest); // the highest of the id, not of the range

        Assert.Equal(Events("p", 3, 4, 5), (await ReplayAsync(Journal, "p", from: 3)).Payloads);
        Assert.Equal(Events("p", 1, 2, 3), (await ReplayAsync(Journal, "p", to: 3)).Payloads);
        Assert.Equal(Events("p", 2), (await ReplayAsync(Journal, "p", from: 2, to: 2)).Payloads);

        var limited = await ReplayAsync(Journal, "p", max: 3);
        Assert.Equal(Events("p", 1, 2, 3), limited.Payloads);
        Assert.Equal(5, limited.Highest);
        Assert.Equal(Events("p", 2, 3), (await ReplayAsync(Journal, "p", from: 2, to: 5, max: 2)).Payloads);
        Assert.Equal(Events("p", 2), (await ReplayAsync(Journal, "p", from: 2, to: 4, max: 1)).Payloads);

        var none = await ReplayAsync(Journal, "p", from: 2, to: 4, max: 0);
        Assert.Empty(none.Replayed);
        Assert.Equal(5, none.Highest);
        var backwards = await ReplayAsync(Journal, "p", from: 3, to: 2);
        Assert.Empty(backwards.Replayed);
        Assert.Equal(5, backwards.Highest);
        var beyond = await ReplayAsync(Journal, "p", from: 6);
        Assert.Empty(beyond.Replayed);
        // AsyncWriteJournal asks for the highest with from - 1 as a hint; Akka.Persistence.Sql answers 0 when nothing
        // lies above the hint (a persistent actor takes the larger of this and what it recovered): never more than 5
        Assert.True(beyond.Highest is 5 or 0, $"highest {beyond.Highest}");
    }

    [Fact]
    public async Task An_unknown_persistence_id_replays_nothing_and_reports_highest_zero()
    {
        await WriteAsync(Journal, CreateTestProbe(), Single("x", 1, "known"));

        foreach (long from in new[] { 0L, 1L })
        {
            var unknown = await ReplayAsync(Journal, "never-written", from: from);
            Assert.Empty(unknown.Replayed);
            Assert.Equal(0, unknown.Highest);
        }
        var prefix = await ReplayAsync(Journal, "know"); // ids are matched whole, not by prefix
        Assert.Empty(prefix.Replayed);
        Assert.Equal(0, prefix.Highest);
    }

    // ---- 2. atomic writes, and several ids interleaved ----

    [Fact]
    public async Task An_atomic_write_of_several_events_is_acknowledged_and_replayed_in_order()
    {
        var writer = CreateTestProbe();
        await WriteAsync(Journal, writer,
            Single(Event("a", 1), 1, "a"),
            Atomic("a", (Event("a", 2), 2), (Event("a", 3), 3), (Event("a", 4), 4)),
            Single(Event("a", 5), 5, "a"));
        // a second request that is one atomic write only
        await WriteAsync(Journal, writer, Atomic("a", (Event("a", 6), 6), (Event("a", 7), 7)));

        var replay = await ReplayAsync(Journal, "a");
        Assert.Equal(Events("a", 1, 2, 3, 4, 5, 6, 7), replay.Payloads);
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], replay.SequenceNrs);
        Assert.Equal(7, replay.Highest);
    }

    [Fact]
    public async Task Writes_for_several_ids_interleaved_keep_each_ids_order()
    {
        string[] pids = ["x", "y", "z"];
        var writer = CreateTestProbe();
        // 3 ids x 20 events, sent without waiting: one request per event, the ids taking turns, some as pairs
        int requests = 0;
        for (int i = 1; i <= 20; i++)
        {
            foreach (string pid in pids)
            {
                if (pid == "y" && i % 2 == 1)
                {
                    Journal.Tell(new WriteMessages([Atomic(pid, (Event(pid, i), i), (Event(pid, i + 1), i + 1))], writer.Ref, ActorInstanceId));
                }
                else if (pid == "y")
                {
                    continue; // written with i - 1
                }
                else
                {
                    Journal.Tell(new WriteMessages([Single(Event(pid, i), i, pid)], writer.Ref, ActorInstanceId));
                }
                requests++;
            }
        }

        // every request is acknowledged: one WriteMessagesSuccessful each, one WriteMessageSuccess per event, and
        // each id's events are acknowledged in the order they were sent
        var acknowledged = pids.ToDictionary(p => p, _ => new List<long>());
        int successful = 0;
        while (successful < requests || acknowledged.Values.Sum(l => l.Count) < 60)
        {
            switch (await writer.ExpectMsgAsync<object>())
            {
                case WriteMessagesSuccessful: successful++; break;
                case WriteMessageSuccess ok:
                    Assert.Equal(ActorInstanceId, ok.ActorInstanceId);
                    acknowledged[ok.Persistent.PersistenceId].Add(ok.Persistent.SequenceNr);
                    break;
                case var other: Assert.Fail($"unexpected reply to a write: {other}"); break;
            }
        }
        foreach (string pid in pids) Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), acknowledged[pid]);

        foreach (string pid in pids)
        {
            var replay = await ReplayAsync(Journal, pid);
            Assert.Equal(Events(pid, Enumerable.Range(1, 20).ToArray()), replay.Payloads);
            Assert.Equal(20, replay.Highest);
        }
    }

    // ---- 3. deletion ----

    [Fact]
    public async Task Deleting_up_to_3_of_5_replays_4_and_5_and_keeps_the_highest()
    {
        await WriteAsync(Journal, CreateTestProbe(), Enumerable.Range(1, 5).Select(i => Single(Event("d", i), i, "d")).ToArray());
        await WriteAsync(Journal, CreateTestProbe(), Single("other", 1, "d-other"));

        var deleter = CreateTestProbe();
        Journal.Tell(new DeleteMessagesTo("d", 3, deleter.Ref));
        Assert.Equal(3, (await deleter.ExpectMsgAsync<DeleteMessagesSuccess>()).ToSequenceNr);

        var replay = await ReplayAsync(Journal, "d");
        Assert.Equal(Events("d", 4, 5), replay.Payloads);
        Assert.Equal([4L, 5], replay.SequenceNrs);
        Assert.Equal(5, replay.Highest);
        Assert.Empty((await ReplayAsync(Journal, "d", from: 1, to: 3)).Replayed);
        Assert.Single((await ReplayAsync(Journal, "d-other")).Replayed); // another id is untouched

        // deleting again, or less, changes nothing
        Journal.Tell(new DeleteMessagesTo("d", 2, deleter.Ref));
        await deleter.ExpectMsgAsync<DeleteMessagesSuccess>();
        Assert.Equal(Events("d", 4, 5), (await ReplayAsync(Journal, "d")).Payloads);
        await deleter.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Deleting_every_event_keeps_the_highest_sequence_number_also_after_a_restart()
    {
        await InSystemAsync(async system =>
        {
            var journal = JournalOf(system);
            await WriteAsync(journal, CreateTestProbe(system), Enumerable.Range(1, 5).Select(i => Single(Event("all", i), i, "all")).ToArray());

            var deleter = CreateTestProbe(system);
            journal.Tell(new DeleteMessagesTo("all", long.MaxValue, deleter.Ref));
            Assert.Equal(long.MaxValue, (await deleter.ExpectMsgAsync<DeleteMessagesSuccess>()).ToSequenceNr);

            var replay = await ReplayAsync(journal, "all", CreateTestProbe(system));
            Assert.Empty(replay.Replayed);
            Assert.Equal(5, replay.Highest);
        });

        await InSystemAsync(async system =>
        {
            var replay = await ReplayAsync(JournalOf(system), "all", CreateTestProbe(system));
            Assert.Empty(replay.Replayed);
            Assert.Equal(5, replay.Highest);

            // a persistent actor of that id recovers nothing but continues above the deleted events
            var probe = CreateTestProbe(system);
            var actor = system.ActorOf(Recorder.Props("all"));
            actor.Tell(new GetState(), probe.Ref);
            var recovered = await probe.ExpectMsgAsync<State>();
            Assert.Empty(recovered.Events);
            Assert.Equal(5, recovered.LastSequenceNr);
            actor.Tell(new PersistEach(["after"]), probe.Ref);
            Assert.Equal(6, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);
        });
    }

    // ---- 4. durability across ActorSystem restarts ----

    [Fact]
    public async Task What_one_system_wrote_another_system_on_the_same_file_replays_and_recovers()
    {
        object[] raw = ["one", new RoundReserved(17), "three", new Voted(4, new Ballot(2, 1), SlotValue.Of("set k=v"u8.ToArray())), "five"];
        await InSystemAsync(async system =>
        {
            await WriteAsync(JournalOf(system), CreateTestProbe(system), raw.Select((e, i) => Single(e, i + 1, "raw")).ToArray());

            var probe = CreateTestProbe(system);
            var actor = system.ActorOf(Recorder.Props("recorder"));
            actor.Tell(new PersistEach(["a", new RoundReserved(7), "b"]), probe.Ref);
            Assert.Equal(3, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);
        });

        await InSystemAsync(async system =>
        {
            var replay = await ReplayAsync(JournalOf(system), "raw", CreateTestProbe(system));
            Assert.Equal(raw, replay.Payloads);
            Assert.Equal(5, replay.Highest);

            var probe = CreateTestProbe(system);
            var actor = system.ActorOf(Recorder.Props("recorder"));
            actor.Tell(new GetState(), probe.Ref);
            var recovered = await probe.ExpectMsgAsync<State>();
            Assert.Equal(["a", new RoundReserved(7), "b"], recovered.Events);
            Assert.Equal(3, recovered.LastSequenceNr);

            actor.Tell(new PersistEach(["c"]), probe.Ref); // it continues where the first system stopped
            Assert.Equal(4, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);
        });

        await InSystemAsync(async system => // and a third system sees the event the second one added
        {
            var probe = CreateTestProbe(system);
            system.ActorOf(Recorder.Props("recorder")).Tell(new GetState(), probe.Ref);
            var recovered = await probe.ExpectMsgAsync<State>();
            Assert.Equal(["a", new RoundReserved(7), "b", "c"], recovered.Events);
            Assert.Equal(4, recovered.LastSequenceNr);
        });
    }

    [Fact]
    public async Task An_actor_that_snapshotted_and_deleted_the_events_below_recovers_from_the_snapshot_and_continues()
    {
        await InSystemAsync(async system =>
        {
            var probe = CreateTestProbe(system);
            var withTail = system.ActorOf(Recorder.Props("with-tail"));
            withTail.Tell(new PersistEach(["e1", "e2", "e3"]), probe.Ref);
            await probe.ExpectMsgAsync<Persisted>();
            withTail.Tell(new SnapshotAndTrim(), probe.Ref);
            Assert.Equal(new Trimmed(3, 3), await probe.ExpectMsgAsync<Trimmed>());
            withTail.Tell(new PersistEach(["e4", "e5"]), probe.Ref);
            Assert.Equal(5, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);

            // the snapshot covers every event: nothing is left in the journal for this id
            var atHighest = system.ActorOf(Recorder.Props("at-highest"));
            atHighest.Tell(new PersistEach(["h1", "h2", "h3"]), probe.Ref);
            await probe.ExpectMsgAsync<Persisted>();
            atHighest.Tell(new SnapshotAndTrim(), probe.Ref);
            Assert.Equal(new Trimmed(3, 3), await probe.ExpectMsgAsync<Trimmed>());
        });

        await InSystemAsync(async system =>
        {
            var probe = CreateTestProbe(system);
            var withTail = system.ActorOf(Recorder.Props("with-tail"));
            withTail.Tell(new GetState(), probe.Ref);
            var state = await probe.ExpectMsgAsync<State>();
            Assert.Equal(new object[] { "e1", "e2", "e3", "e4", "e5" }, state.Events);
            Assert.Equal(5, state.LastSequenceNr);
            Assert.Equal(3, state.SnapshotSequenceNr);
            withTail.Tell(new PersistEach(["e6"]), probe.Ref);
            Assert.Equal(6, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);

            var atHighest = system.ActorOf(Recorder.Props("at-highest"));
            atHighest.Tell(new GetState(), probe.Ref);
            state = await probe.ExpectMsgAsync<State>();
            Assert.Equal(new object[] { "h1", "h2", "h3" }, state.Events);
            Assert.Equal(3, state.LastSequenceNr);
            Assert.Equal(3, state.SnapshotSequenceNr);
            atHighest.Tell(new PersistEach(["h4"]), probe.Ref); // continues above the snapshot, never reusing 1..3
            Assert.Equal(4, (await probe.ExpectMsgAsync<Persisted>()).LastSequenceNr);
        });

        await InSystemAsync(async system =>
        {
            var probe = CreateTestProbe(system);
            system.ActorOf(Recorder.Props("at-highest")).Tell(new GetState(), probe.Ref);
            var state = await probe.ExpectMsgAsync<State>();
            Assert.Equal(new object[] { "h1", "h2", "h3", "h4" }, state.Events);
            Assert.Equal(4, state.LastSequenceNr);
        });
    }

    // ---- 5. many concurrent writers ----

    [Fact]
    public async Task Twenty_actors_persisting_50_events_each_without_waiting_all_recover_them_in_order()
    {
        const int actors = 20, events = 50;
        string Pid(int a) => $"writer-{a}";

        await InSystemAsync(async system =>
        {
            var probe = CreateTestProbe(system);
            var refs = Enumerable.Range(0, actors).Select(a => system.ActorOf(Recorder.Props(Pid(a)))).ToArray();
            // 50 commands to each actor, all sent at once; each is one PersistAsync, which never waits for the
            // write before taking the next command
            for (int i = 1; i <= events; i++)
                for (int a = 0; a < actors; a++)
                    refs[a].Tell(new PersistAsyncOne(Event(Pid(a), i), Last: i == events), probe.Ref);

            var done = new Dictionary<string, long>();
            for (int i = 0; i < actors; i++)
            {
                var d = await probe.ExpectMsgAsync<Persisted>();
                done.Add(d.PersistenceId, d.LastSequenceNr);
            }
            Assert.Equal(Enumerable.Range(0, actors).Select(Pid).Order(), done.Keys.Order());
            Assert.All(done.Values, last => Assert.Equal(events, last));
        });

        await InSystemAsync(async system =>
        {
            var probe = CreateTestProbe(system);
            for (int a = 0; a < actors; a++) system.ActorOf(Recorder.Props(Pid(a))).Tell(new GetState(), probe.Ref);
            for (int i = 0; i < actors; i++)
            {
                var state = await probe.ExpectMsgAsync<State>();
                Assert.Equal(events, state.LastSequenceNr);
                Assert.Equal(Events(state.PersistenceId, Enumerable.Range(1, events).ToArray()), state.Events);
            }
        });
    }

    // ---- 6. snapshots ----

    [Fact]
    public async Task Snapshots_load_the_latest_or_the_one_criteria_select_and_delete_by_metadata_or_criteria()
    {
        var probe = CreateTestProbe();
        var md10 = await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("s", 10), "s-10");
        var md20 = await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("s", 20), "s-20");
        var otherMd = await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("s-other", 10), "other-10");
        Assert.NotEqual(DateTime.MinValue, md10.Timestamp); // the store stamps a snapshot saved without a time

        var latest = await LoadSnapshotAsync(SnapshotStore, probe, "s", SnapshotSelectionCriteria.Latest);
        Assert.Equal("s-20", latest?.Snapshot);
        Assert.Equal(md20, latest?.Metadata);

        var older = await LoadSnapshotAsync(SnapshotStore, probe, "s", new SnapshotSelectionCriteria(15));
        Assert.Equal("s-10", older?.Snapshot);
        Assert.Equal(md10, older?.Metadata);
        Assert.Equal("s-10", (await LoadSnapshotAsync(SnapshotStore, probe, "s", SnapshotSelectionCriteria.Latest, toSequenceNr: 15))?.Snapshot);
        Assert.Equal("s-20", (await LoadSnapshotAsync(SnapshotStore, probe, "s", new SnapshotSelectionCriteria(20)))?.Snapshot); // the bound is inclusive
        Assert.Null(await LoadSnapshotAsync(SnapshotStore, probe, "s", new SnapshotSelectionCriteria(9)));
        Assert.Null(await LoadSnapshotAsync(SnapshotStore, probe, "s", new SnapshotSelectionCriteria(long.MaxValue, md10.Timestamp.AddTicks(-1))));
        Assert.Equal("s-10", (await LoadSnapshotAsync(SnapshotStore, probe, "s", new SnapshotSelectionCriteria(long.MaxValue, md10.Timestamp)))?.Snapshot);

        // delete one by the metadata the save returned: the older one is the latest again
        SnapshotStore.Tell(new DeleteSnapshot(md20), probe.Ref);
        Assert.Equal(md20, (await probe.ExpectMsgAsync<DeleteSnapshotSuccess>()).Metadata);
        Assert.Equal("s-10", (await LoadSnapshotAsync(SnapshotStore, probe, "s", SnapshotSelectionCriteria.Latest))?.Snapshot);

        // delete one by sequence number alone (no timestamp: "whenever it was saved")
        var md30 = await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("s", 30), "s-30");
        SnapshotStore.Tell(new DeleteSnapshot(Unstamped("s", 30)), probe.Ref);
        await probe.ExpectMsgAsync<DeleteSnapshotSuccess>();
        Assert.Equal("s-10", (await LoadSnapshotAsync(SnapshotStore, probe, "s", SnapshotSelectionCriteria.Latest))?.Snapshot);
        Assert.Equal(30, md30.SequenceNr);

        // delete by criteria: everything up to 25 goes, 40 stays, and another id is untouched
        await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("s", 40), "s-40");
        var upTo25 = new SnapshotSelectionCriteria(25);
        SnapshotStore.Tell(new DeleteSnapshots("s", upTo25), probe.Ref);
        Assert.Equal(upTo25, (await probe.ExpectMsgAsync<DeleteSnapshotsSuccess>()).Criteria);
        Assert.Null(await LoadSnapshotAsync(SnapshotStore, probe, "s", upTo25));
        Assert.Equal("s-40", (await LoadSnapshotAsync(SnapshotStore, probe, "s", SnapshotSelectionCriteria.Latest))?.Snapshot);
        var other = await LoadSnapshotAsync(SnapshotStore, probe, "s-other", SnapshotSelectionCriteria.Latest);
        Assert.Equal("other-10", other?.Snapshot);
        Assert.Equal(otherMd, other?.Metadata);

        // a criteria whose time bound is before the snapshot deletes nothing
        SnapshotStore.Tell(new DeleteSnapshots("s-other", new SnapshotSelectionCriteria(long.MaxValue, otherMd.Timestamp.AddTicks(-1))), probe.Ref);
        await probe.ExpectMsgAsync<DeleteSnapshotsSuccess>();
        Assert.Equal("other-10", (await LoadSnapshotAsync(SnapshotStore, probe, "s-other", SnapshotSelectionCriteria.Latest))?.Snapshot);
    }

    [Fact]
    public async Task Loading_a_snapshot_for_an_unknown_id_returns_no_snapshot()
    {
        var probe = CreateTestProbe();
        await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("known", 3), "k");

        SnapshotStore.Tell(new LoadSnapshot("unknown", SnapshotSelectionCriteria.Latest, long.MaxValue), probe.Ref);
        var result = await probe.ExpectMsgAsync<LoadSnapshotResult>();
        Assert.Null(result.Snapshot);
        Assert.Equal(long.MaxValue, result.ToSequenceNr);

        SnapshotStore.Tell(new LoadSnapshot("know", SnapshotSelectionCriteria.Latest, 99), probe.Ref); // not by prefix
        result = await probe.ExpectMsgAsync<LoadSnapshotResult>();
        Assert.Null(result.Snapshot);
        Assert.Equal(99, result.ToSequenceNr);
    }

    [Fact]
    public async Task Saving_at_the_same_sequence_number_again_replaces_the_snapshot()
    {
        var probe = CreateTestProbe();
        await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("o", 5), "first");
        await SaveSnapshotAsync(SnapshotStore, probe, Unstamped("o", 5), "second");
        var loaded = await LoadSnapshotAsync(SnapshotStore, probe, "o", SnapshotSelectionCriteria.Latest);
        Assert.Equal("second", loaded?.Snapshot);
        Assert.Equal(5, loaded?.Metadata.SequenceNr);
    }

    [Fact]
    public async Task A_snapshot_saved_in_one_system_loads_in_the_next_with_its_metadata_and_value()
    {
        var acceptorState = new AcceptorSnapshot(new Ballot(9, 2), 100,
            [new AcceptedEntry(100, new Ballot(8, 1), SlotValue.Of("x"u8.ToArray(), [])), new AcceptedEntry(101, new Ballot(9, 2), SlotValue.NoOp)])
        {
            KnownVoters = [1, 2, 3],
        };
        SnapshotMetadata savedPaxos = null!, savedString = null!;
        await InSystemAsync(async system =>
        {
            var store = SnapshotStoreOf(system);
            var probe = CreateTestProbe(system);
            savedPaxos = await SaveSnapshotAsync(store, probe, Unstamped("acceptor-1", 1000), acceptorState);
            savedString = await SaveSnapshotAsync(store, probe, Unstamped("plain", 7), "plain-7");
        });

        await InSystemAsync(async system =>
        {
            var store = SnapshotStoreOf(system);
            var probe = CreateTestProbe(system);
            var paxos = await LoadSnapshotAsync(store, probe, "acceptor-1", SnapshotSelectionCriteria.Latest);
            Assert.Equal(savedPaxos, paxos?.Metadata);
            Assert.Equal(acceptorState, Assert.IsType<AcceptorSnapshot>(paxos?.Snapshot));
            var plain = await LoadSnapshotAsync(store, probe, "plain", SnapshotSelectionCriteria.Latest);
            Assert.Equal(savedString, plain?.Metadata);
            Assert.Equal("plain-7", plain?.Snapshot);
        });
    }

    // ---- 7. PaxosSerializer-bound events ----

    [Fact]
    public async Task Events_bound_to_the_PaxosSerializer_round_trip_with_their_own_manifest()
    {
        // RoundReserved(5), Compacted(5) and VoterJoined(5) are the same bytes under the PaxosSerializer: only the
        // serializer id and manifest stored with each tell them apart on replay
        var serialization = Sys.Serialization;
        object[] sameBytes = [new RoundReserved(5), new Compacted(5), new VoterJoined(5)];
        Assert.All(sameBytes, e => Assert.Equal(PaxosSerializer.SerializerId, serialization.FindSerializerFor(e).Identifier));
        Assert.Single(sameBytes.Select(e => Convert.ToHexString(serialization.FindSerializerFor(e).ToBinary(e))).Distinct());

        object[] events =
        [
            new RoundReserved(5), new Compacted(5), new VoterJoined(5), "a string between them",
            new Promised(new Ballot(long.MaxValue, int.MaxValue)),
            new Voted(1_000_000, new Ballot(3, 2), SlotValue.Of([1, 2, 3], [], Enumerable.Range(0, 300).Select(i => (byte)i).ToArray())),
            new Voted(2, new Ballot(3, 2), SlotValue.NoOp),
            new RoundReserved(long.MinValue),
        ];
        await WriteAsync(Journal, CreateTestProbe(),
            Atomic("paxos", events.Take(3).Select((e, i) => (e, (long)i + 1)).ToArray()),
            Single(events[3], 4, "paxos"),
            Atomic("paxos", events.Skip(4).Select((e, i) => (e, (long)i + 5)).ToArray()));

        var replay = await ReplayAsync(Journal, "paxos");
        Assert.Equal(events.Select(e => e.GetType()), replay.Payloads.Select(p => p.GetType()));
        Assert.Equal(events, replay.Payloads);
        Assert.Equal(events.Length, replay.Highest);

        // and a persistent actor whose recovery handlers match by type gets them back typed
        var probe = CreateTestProbe();
        Sys.ActorOf(Recorder.Props("paxos")).Tell(new GetState(), probe.Ref);
        var state = await probe.ExpectMsgAsync<State>();
        Assert.Equal(events, state.Events);
    }

    [Fact]
    public async Task An_event_its_serializer_refuses_is_rejected_alone_and_the_rest_of_the_request_is_written()
    {
        var probe = CreateTestProbe();
        Journal.Tell(new WriteMessages(
        [
            Single("before", 1, "r"),
            Single(new NotEncodable(), 2, "r"),
            Single("after", 3, "r"),
        ], probe.Ref, ActorInstanceId));

        await probe.ExpectMsgAsync<WriteMessagesSuccessful>();
        Assert.Equal(1, (await probe.ExpectMsgAsync<WriteMessageSuccess>()).Persistent.SequenceNr);
        var rejected = await probe.ExpectMsgAsync<WriteMessageRejected>();
        Assert.Equal(2, rejected.Persistent.SequenceNr);
        Assert.NotNull(rejected.Cause);
        Assert.Equal(3, (await probe.ExpectMsgAsync<WriteMessageSuccess>()).Persistent.SequenceNr);

        Assert.Equal(["before", "after"], (await ReplayAsync(Journal, "r")).Payloads);
    }

    // ---- the protocol, by hand ----

    private IActorRef Journal => JournalOf(Sys);
    private IActorRef SnapshotStore => SnapshotStoreOf(Sys);
    private static IActorRef JournalOf(ActorSystem system) => Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
    private static IActorRef SnapshotStoreOf(ActorSystem system) => Akka.Persistence.Persistence.Instance.Apply(system).SnapshotStoreFor(null);

    /// <summary>Metadata without a time: the store stamps the snapshot when it saves it.</summary>
    private static SnapshotMetadata Unstamped(string pid, long sequenceNr) => new(pid, sequenceNr, DateTime.MinValue);

    private static string Event(string pid, int i) => $"{pid}-{i}";
    private static object[] Events(string pid, params int[] seqs) => seqs.Select(i => (object)Event(pid, i)).ToArray();

    private Persistent Persistent(object payload, long sequenceNr, string pid) =>
        new(payload, sequenceNr, pid, string.Empty, isDeleted: false, ActorRefs.NoSender, _writerGuid);

    private AtomicWrite Single(object payload, long sequenceNr, string pid) => new(Persistent(payload, sequenceNr, pid));

    private AtomicWrite Atomic(string pid, params (object Payload, long SequenceNr)[] events) =>
        new(events.Select(e => (IPersistentRepresentation)Persistent(e.Payload, e.SequenceNr, pid)).ToImmutableList());

    /// <summary>One WriteMessages request; its replies: WriteMessagesSuccessful, then a WriteMessageSuccess per event in order.</summary>
    private static async Task WriteAsync(IActorRef journal, TestProbe probe, params AtomicWrite[] writes)
    {
        journal.Tell(new WriteMessages(writes, probe.Ref, ActorInstanceId));
        await probe.ExpectMsgAsync<WriteMessagesSuccessful>();
        foreach (var written in writes.SelectMany(w => (IImmutableList<IPersistentRepresentation>)w.Payload))
        {
            var ok = await probe.ExpectMsgAsync<WriteMessageSuccess>();
            Assert.Equal(ActorInstanceId, ok.ActorInstanceId);
            Assert.Equal(written.PersistenceId, ok.Persistent.PersistenceId);
            Assert.Equal(written.SequenceNr, ok.Persistent.SequenceNr);
            Assert.Equal(written.Payload, ok.Persistent.Payload);
        }
    }

    private sealed record Replay(IReadOnlyList<IPersistentRepresentation> Replayed, long Highest)
    {
        public object[] Payloads => Replayed.Select(p => p.Payload).ToArray();
        public long[] SequenceNrs => Replayed.Select(p => p.SequenceNr).ToArray();
    }

    private Task<Replay> ReplayAsync(IActorRef journal, string pid, long from = 1, long to = long.MaxValue, long max = long.MaxValue) =>
        ReplayAsync(journal, pid, CreateTestProbe(), from, to, max);

    /// <summary>ReplayMessages: the ReplayedMessages in order, then RecoverySuccess with the id's highest sequence number.</summary>
    private static async Task<Replay> ReplayAsync(IActorRef journal, string pid, TestProbe probe,
        long from = 1, long to = long.MaxValue, long max = long.MaxValue)
    {
        journal.Tell(new ReplayMessages(from, to, max, pid, probe.Ref));
        var replayed = new List<IPersistentRepresentation>();
        while (true)
        {
            switch (await probe.ExpectMsgAsync<object>())
            {
                case ReplayedMessage m:
                    Assert.Equal(pid, m.Persistent.PersistenceId);
                    replayed.Add(m.Persistent);
                    break;
                case RecoverySuccess done:
                    return new Replay(replayed, done.HighestSequenceNr);
                case var other:
                    Assert.Fail($"unexpected reply to a replay of {pid}: {other}");
                    break;
            }
        }
    }

    private static async Task<SnapshotMetadata> SaveSnapshotAsync(IActorRef store, TestProbe probe, SnapshotMetadata metadata, object snapshot)
    {
        store.Tell(new SaveSnapshot(metadata, snapshot), probe.Ref);
        var saved = (await probe.ExpectMsgAsync<SaveSnapshotSuccess>()).Metadata;
        Assert.Equal(metadata.PersistenceId, saved.PersistenceId);
        Assert.Equal(metadata.SequenceNr, saved.SequenceNr);
        return saved;
    }

    private static async Task<SelectedSnapshot?> LoadSnapshotAsync(IActorRef store, TestProbe probe, string pid,
        SnapshotSelectionCriteria criteria, long toSequenceNr = long.MaxValue)
    {
        store.Tell(new LoadSnapshot(pid, criteria, toSequenceNr), probe.Ref);
        var result = await probe.ExpectMsgAsync<LoadSnapshotResult>();
        Assert.Equal(toSequenceNr, result.ToSequenceNr);
        return result.Snapshot;
    }

    /// <summary>Runs <paramref name="body"/> in a new ActorSystem on this test's file, and terminates it (the
    /// plugin's PostStop, its last write on disk) before returning, whether the body passed or not.</summary>
    private async Task InSystemAsync(Func<ActorSystem, Task> body)
    {
        var system = ActorSystem.Create($"journal-plugin-spec-{++_systems}",
            SpecConfig(_path).WithFallback(Akka.TestKit.TestKitBase.DefaultConfig));
        try
        {
            await body(system);
        }
        finally
        {
            await system.Terminate().WaitAsync(TimeSpan.FromSeconds(15));
        }
    }

    // ---- a real persistent actor ----

    private sealed record PersistEach(object[] Events) : INoSerializationVerificationNeeded;
    private sealed record PersistAsyncOne(object Event, bool Last) : INoSerializationVerificationNeeded;
    private sealed record Persisted(string PersistenceId, long LastSequenceNr) : INoSerializationVerificationNeeded;
    private sealed record GetState : INoSerializationVerificationNeeded;
    private sealed record State(string PersistenceId, object[] Events, long LastSequenceNr, long? SnapshotSequenceNr = null)
        : INoSerializationVerificationNeeded;
    private sealed record SnapshotAndTrim : INoSerializationVerificationNeeded;
    private sealed record Trimmed(long SnapshotSequenceNr, long DeletedTo) : INoSerializationVerificationNeeded;

    /// <summary>Bound to the PaxosSerializer (an <see cref="IPaxosMessage"/>), which has no encoding for it.</summary>
    private sealed record NotEncodable : IPaxosMessage;

    /// <summary>Keeps every event it persisted or recovered, strings and the Paxos events by type. On request it
    /// snapshots its (string) events and then deletes the events the snapshot covers, as the node's roles do.</summary>
    private sealed class Recorder : ReceivePersistentActor
    {
        private readonly List<object> _events = new();
        private long? _snapshotSequenceNr;
        private IActorRef _trimRequester = ActorRefs.Nobody;

        public static Props Props(string persistenceId) => Akka.Actor.Props.Create(() => new Recorder(persistenceId));

        public Recorder(string persistenceId)
        {
            PersistenceId = persistenceId;
            Recover<SnapshotOffer>(offer =>
            {
                _events.Clear();
                _events.AddRange(((string)offer.Snapshot).Split('|', StringSplitOptions.RemoveEmptyEntries));
                _snapshotSequenceNr = offer.Metadata.SequenceNr;
            });
            Recover<string>(e => _events.Add(e));
            Recover<RoundReserved>(e => _events.Add(e));
            Recover<IAcceptorEvent>(e => _events.Add(e));

            Command<PersistEach>(cmd =>
            {
                var sender = Sender;
                PersistAll(cmd.Events, e => _events.Add(e));
                DeferAsync(0, _ => sender.Tell(new Persisted(PersistenceId, LastSequenceNr)));
            });
            Command<PersistAsyncOne>(cmd =>
            {
                var sender = Sender;
                PersistAsync(cmd.Event, e => // handlers run in order: the last one's is the last to run
                {
                    _events.Add(e);
                    if (cmd.Last) sender.Tell(new Persisted(PersistenceId, LastSequenceNr));
                });
            });
            Command<GetState>(_ => Sender.Tell(new State(PersistenceId, _events.ToArray(), LastSequenceNr, _snapshotSequenceNr)));
            Command<SnapshotAndTrim>(_ =>
            {
                _trimRequester = Sender;
                SaveSnapshot(string.Join("|", _events));
            });
            Command<SaveSnapshotSuccess>(saved =>
            {
                _snapshotSequenceNr = saved.Metadata.SequenceNr;
                DeleteMessages(saved.Metadata.SequenceNr);
            });
            Command<DeleteMessagesSuccess>(deleted => _trimRequester.Tell(new Trimmed(_snapshotSequenceNr!.Value, deleted.ToSequenceNr)));
        }

        public override string PersistenceId { get; }
    }
}
