using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Data.Sqlite;
using PaxosActors.Diagnostics;

namespace PaxosActors.Persistence;

/// <summary>
/// The node's Akka.Persistence journal: one SQLite file, one writer, group commit.
/// <para>
/// Every write and delete goes to a single writer thread that owns one connection. It takes whatever has queued
/// up since its last commit (the acceptor's votes, the proposer's round, the learner's batch; up to
/// <c>max-batch</c> operations), writes it in one transaction with prepared statements and commits once: one
/// fsync (WAL, <c>synchronous=FULL</c>) for all of them. A write's task completes only after that commit
/// returned, so a persistent actor's handler, and the reply it sends, runs only once its event is on disk.
/// Under light load a transaction carries one operation and costs one fsync; under heavy load the fsyncs per
/// event fall as the batches grow, with no timer and no added latency.
/// </para>
/// <para>
/// Why not Akka.Persistence.Sql, which the project used first: measured on this 2-core machine, its write path
/// (an Akka.Streams queue, linq2db building each insert's SQL and cloning a <c>DataConnection</c> and its
/// mapping schema per write) took 26-30 % of a loaded node's CPU and about 1 ms of CPU per write, against
/// ~0.1 ms here; see BENCHMARKS.md. The file layout, WAL mode and fsync rule are the same.
/// </para>
/// <para>
/// If a group's transaction fails, each of its operations is retried alone, so that one bad write (a
/// duplicate sequence number, say) fails only its own persistent actor. Events that cannot be serialized are
/// rejected before they reach the writer (Akka's "rejected": the actor is told and goes on). Replays and
/// highest-sequence-number reads use their own pooled connections: in WAL mode they never wait for the writer.
/// </para>
/// </summary>
public sealed class SqliteWriteJournal : AsyncWriteJournal
{
    private readonly string _path;
    private readonly string _synchronous;
    private readonly int _maxBatch;
    // A plain monitor, not a BlockingCollection: SemaphoreSlim spins before it sleeps, and at light load that spinning
    // was 7 % of the nodes' CPU (perf, 1 worker).
    private readonly Queue<Operation> _queue = new();
    private bool _stopping;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly PaxosMetrics _metrics = PaxosMetrics.Get(Context.System);
    private readonly Thread _writer;

    public SqliteWriteJournal(Akka.Configuration.Config config)
    {
        _path = SqliteStore.PathOf(config);
        _synchronous = SqliteStore.SynchronousOf(config);
        _maxBatch = Math.Max(1, config.GetInt("max-batch", 1024));
        SqliteStore.CapPages(_path, config);
        SqliteStore.CreateTables(_path, _synchronous); // and a file that cannot be opened fails the plugin now
        _writer = new Thread(WriteLoop) { IsBackground = true, Name = "paxos-journal-writer" };
        _writer.Start();
    }

    protected override void PostStop()
    {
        lock (_queue)
        {
            _stopping = true;
            Monitor.Pulse(_queue);
        }
        _writer.Join(TimeSpan.FromSeconds(10));
        base.PostStop();
    }

    protected override Task<IImmutableList<Exception?>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var system = Context.System;
        var rows = new List<Row>();
        var results = new List<Exception?>();
        bool anyRejected = false;
        foreach (var write in messages)
        {
            int before = rows.Count;
            try
            {
                foreach (var p in (IImmutableList<IPersistentRepresentation>)write.Payload)
                {
                    var serialized = SqliteStore.Serialize(system, SqliteStore.Untagged(p.Payload));
                    rows.Add(new Row(p.PersistenceId, p.SequenceNr, serialized, p.WriterGuid ?? ""));
                }
                results.Add(null);
            }
            catch (Exception e)
            {
                rows.RemoveRange(before, rows.Count - before); // an atomic write is all or nothing
                results.Add(e);
                anyRejected = true;
            }
        }
        IImmutableList<Exception?>? answer = anyRejected ? results.ToImmutableList() : null;
        if (rows.Count == 0) return Task.FromResult(answer!);
        var op = new Operation(rows, null, 0);
        if (HopTrace.Enabled) HopTrace.Mark("journal-enqueue", extra: rows.Count);
        Enqueue(op);
        // A continuation, the form the figures in BENCHMARKS.md were measured with. An async-method version was 15-20 %
        // slower in two back-to-back A/B runs on a warm cluster and level in a third: not proven, not worth the risk.
        return op.Done.Task.ContinueWith(t =>
        {
            if (HopTrace.Enabled) HopTrace.Mark("journal-continuation");
            t.GetAwaiter().GetResult(); // a failed commit fails the whole request
            return answer!;
        }, TaskContinuationOptions.ExecuteSynchronously);
    }

    protected override Task DeleteMessagesToAsync(string persistenceId, long toSequenceNr, CancellationToken cancellationToken)
    {
        var op = new Operation(null, persistenceId, toSequenceNr);
        Enqueue(op);
        return op.Done.Task;
    }

    public override Task ReplayMessagesAsync(IActorContext context, string persistenceId, long fromSequenceNr,
        long toSequenceNr, long max, Action<IPersistentRepresentation> recoveryCallback)
    {
        var system = context.System;
        if (max <= 0 || toSequenceNr < fromSequenceNr) return Task.CompletedTask;
        return SqliteStore.RunAsync(_path, _synchronous, "replay", cmd =>
        {
            cmd.CommandText = """
                SELECT sequence_nr, serializer_id, manifest, writer_uuid, payload FROM paxos_journal
                WHERE persistence_id = $pid AND sequence_nr >= $from AND sequence_nr <= $to
                ORDER BY sequence_nr LIMIT $max
                """;
            cmd.Parameters.AddWithValue("$pid", persistenceId);
            cmd.Parameters.AddWithValue("$from", fromSequenceNr);
            cmd.Parameters.AddWithValue("$to", toSequenceNr);
            cmd.Parameters.AddWithValue("$max", max);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                long sequenceNr = reader.GetInt64(0);
                string manifest = reader.GetString(2);
                var payload = SqliteStore.Deserialize(system, (byte[])reader.GetValue(4), reader.GetInt32(1), manifest);
                recoveryCallback(new Persistent(payload, sequenceNr, persistenceId, manifest, isDeleted: false,
                    ActorRefs.NoSender, reader.GetString(3)));
            }
            return true;
        });
    }

    public override Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken) =>
        SqliteStore.RunAsync(_path, _synchronous, "highest sequence number", cmd =>
        {
            cmd.CommandText = """
                SELECT MAX(n) FROM (
                  SELECT MAX(sequence_nr) AS n FROM paxos_journal WHERE persistence_id = $pid
                  UNION ALL SELECT deleted_to FROM paxos_journal_deleted WHERE persistence_id = $pid)
                """;
            cmd.Parameters.AddWithValue("$pid", persistenceId);
            return cmd.ExecuteScalar() is long highest ? Math.Max(highest, 0) : 0L;
        }, cancellationToken);

    private sealed record Row(string PersistenceId, long SequenceNr, SqliteStore.SerializedPayload Payload, string WriterUuid);

    /// <summary>A write (<see cref="Rows"/>) or a delete (<see cref="DeletePid"/> up to <see cref="DeleteTo"/>).</summary>
    private sealed class Operation(List<Row>? rows, string? deletePid, long deleteTo)
    {
        public List<Row>? Rows { get; } = rows;
        public string? DeletePid { get; } = deletePid;
        public long DeleteTo { get; } = deleteTo;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    // ---- the writer thread ----

    private void Enqueue(Operation op)
    {
        lock (_queue)
        {
            if (_stopping)
            {
                op.Done.TrySetException(new InvalidOperationException("the journal stopped"));
                return;
            }
            _queue.Enqueue(op);
            if (_queue.Count == 1) Monitor.Pulse(_queue);
        }
    }

    /// <summary>Waits for work, then takes everything queued (up to max-batch); false once stopping and drained.</summary>
    private bool TakeGroup(List<Operation> group)
    {
        lock (_queue)
        {
            while (_queue.Count == 0)
            {
                if (_stopping) return false;
                Monitor.Wait(_queue);
            }
            while (group.Count < _maxBatch && _queue.TryDequeue(out var op)) group.Add(op);
            return true;
        }
    }

    private void WriteLoop()
    {
        Statements? statements = null;
        var group = new List<Operation>(_maxBatch);
        try
        {
            while (TakeGroup(group))
            {
                if (TryCommit(ref statements, group) is { } groupFailure)
                {
                    if (group.Count == 1) group[0].Done.TrySetException(groupFailure);
                    else
                    {
                        foreach (var op in group) // each alone: one bad write fails only its own actor
                        {
                            if (TryCommit(ref statements, [op]) is not { } failure) continue;
                            _log.Error(failure, "journal {0}: a write failed", _path);
                            op.Done.TrySetException(failure);
                        }
                    }
                }
                group.Clear();
            }
        }
        finally
        {
            statements?.Dispose();
        }
    }

    /// <summary>
    /// Commits <paramref name="ops"/> in one transaction and completes them, or returns why not, leaving them
    /// pending. After a failure the connection is dropped (it may be in any state) and the next try opens a new one.
    /// </summary>
    private Exception? TryCommit(ref Statements? statements, List<Operation> ops)
    {
        try
        {
            statements ??= new Statements(SqliteStore.Open(_path, _synchronous));
            SqliteStore.InUse(_path, "write", statements.Connection);
            long started = Stopwatch.GetTimestamp();
            Commit(statements, ops);
            _metrics.JournalCommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
            _metrics.JournalCommitOperations.Record(ops.Count);
            if (HopTrace.Enabled) HopTrace.Mark("journal-commit", extra: ops.Count);
            foreach (var op in ops) op.Done.TrySetResult();
            return null;
        }
        catch (Exception e)
        {
            statements?.Dispose();
            statements = null;
            return e;
        }
    }

    private static void Commit(Statements s, List<Operation> group)
    {
        using var tx = s.Connection.BeginTransaction();
        s.Enlist(tx);
        foreach (var op in group)
        {
            if (op.Rows is { } rows)
            {
                foreach (var row in rows)
                {
                    s.InsertPid.Value = row.PersistenceId;
                    s.InsertSeq.Value = row.SequenceNr;
                    s.InsertSerializer.Value = row.Payload.SerializerId;
                    s.InsertManifest.Value = row.Payload.Manifest;
                    s.InsertWriter.Value = row.WriterUuid;
                    s.InsertPayload.Value = row.Payload.Bytes;
                    s.Insert.ExecuteNonQuery();
                }
            }
            else
            {
                s.MarkPid.Value = s.DeletePid.Value = op.DeletePid;
                s.MarkTo.Value = s.DeleteTo.Value = op.DeleteTo;
                s.MarkDeleted.ExecuteNonQuery();
                s.Delete.ExecuteNonQuery();
            }
        }
        tx.Commit();
    }

    /// <summary>The writer's connection and its prepared statements.</summary>
    private sealed class Statements : IDisposable
    {
        public Statements(SqliteConnection connection)
        {
            Connection = connection;
            Insert = connection.CreateCommand();
            Insert.CommandText = """
                INSERT INTO paxos_journal (persistence_id, sequence_nr, serializer_id, manifest, writer_uuid, payload)
                VALUES ($pid, $seq, $ser, $man, $wri, $pay)
                """;
            InsertPid = Insert.Parameters.Add("$pid", SqliteType.Text);
            InsertSeq = Insert.Parameters.Add("$seq", SqliteType.Integer);
            InsertSerializer = Insert.Parameters.Add("$ser", SqliteType.Integer);
            InsertManifest = Insert.Parameters.Add("$man", SqliteType.Text);
            InsertWriter = Insert.Parameters.Add("$wri", SqliteType.Text);
            InsertPayload = Insert.Parameters.Add("$pay", SqliteType.Blob);

            // Remember how far the id was deleted (never lowering it), bounded by what was actually written, so the
            // highest sequence number survives the deletion of every event.
            MarkDeleted = connection.CreateCommand();
            MarkDeleted.CommandText = """
                INSERT INTO paxos_journal_deleted (persistence_id, deleted_to)
                SELECT $pid, MIN($to, MAX(sequence_nr)) FROM paxos_journal WHERE persistence_id = $pid AND sequence_nr <= $to
                HAVING COUNT(*) > 0
                ON CONFLICT (persistence_id) DO UPDATE SET deleted_to = MAX(deleted_to, excluded.deleted_to)
                """;
            MarkPid = MarkDeleted.Parameters.Add("$pid", SqliteType.Text);
            MarkTo = MarkDeleted.Parameters.Add("$to", SqliteType.Integer);

            Delete = connection.CreateCommand();
            Delete.CommandText = "DELETE FROM paxos_journal WHERE persistence_id = $pid AND sequence_nr <= $to";
            DeletePid = Delete.Parameters.Add("$pid", SqliteType.Text);
            DeleteTo = Delete.Parameters.Add("$to", SqliteType.Integer);
        }

        public SqliteConnection Connection { get; }
        public SqliteCommand Insert { get; }
        public SqliteParameter InsertPid { get; }
        public SqliteParameter InsertSeq { get; }
        public SqliteParameter InsertSerializer { get; }
        public SqliteParameter InsertManifest { get; }
        public SqliteParameter InsertWriter { get; }
        public SqliteParameter InsertPayload { get; }
        public SqliteCommand MarkDeleted { get; }
        public SqliteParameter MarkPid { get; }
        public SqliteParameter MarkTo { get; }
        public SqliteCommand Delete { get; }
        public SqliteParameter DeletePid { get; }
        public SqliteParameter DeleteTo { get; }

        public void Enlist(SqliteTransaction tx)
        {
            Insert.Transaction = tx;
            MarkDeleted.Transaction = tx;
            Delete.Transaction = tx;
        }

        public void Dispose()
        {
            Insert.Dispose();
            MarkDeleted.Dispose();
            Delete.Dispose();
            Connection.Dispose();
        }
    }
}
