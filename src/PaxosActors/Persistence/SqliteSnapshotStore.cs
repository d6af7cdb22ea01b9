using Akka.Persistence;
using Akka.Persistence.Snapshot;
using Microsoft.Data.Sqlite;

namespace PaxosActors.Persistence;

/// <summary>
/// The node's Akka.Persistence snapshot store, in the same SQLite file as <see cref="SqliteWriteJournal"/>
/// (table <c>paxos_snapshot</c>). Snapshots are rare (every <c>paxos.snapshot-every</c> events) and may be large (the
/// key-value state), so each operation simply takes a pooled connection of its own on the thread pool; SQLite
/// serialises it with the journal's writer (its busy timeout waits for the write lock). Saving commits with
/// <c>synchronous=FULL</c> like every journal write: an actor deletes the events a snapshot replaces only after
/// the save was confirmed.
/// </summary>
public sealed class SqliteSnapshotStore : SnapshotStore
{
    private readonly string _path;
    private readonly string _synchronous;

    public SqliteSnapshotStore(Akka.Configuration.Config config)
    {
        _path = SqliteStore.PathOf(config);
        _synchronous = SqliteStore.SynchronousOf(config);
        SqliteStore.CreateTables(_path, _synchronous);
    }

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var system = Context.System;
        return SqliteStore.RunAsync(_path, _synchronous, "snapshot load", cmd =>
        {
            cmd.CommandText = """
                SELECT sequence_nr, created, serializer_id, manifest, payload FROM paxos_snapshot
                WHERE persistence_id = $pid AND sequence_nr <= $maxSeq AND sequence_nr >= $minSeq
                  AND created <= $maxTime AND created >= $minTime
                ORDER BY sequence_nr DESC LIMIT 1
                """;
            cmd.Parameters.AddWithValue("$pid", persistenceId);
            AddCriteria(cmd, criteria);
            using var reader = cmd.ExecuteReader();
            if (!reader.Read()) return null;
            var metadata = new SnapshotMetadata(persistenceId, reader.GetInt64(0), new DateTime(reader.GetInt64(1), DateTimeKind.Utc));
            var snapshot = SqliteStore.Deserialize(system, (byte[])reader.GetValue(4), reader.GetInt32(2), reader.GetString(3));
            return (SelectedSnapshot?)new SelectedSnapshot(metadata, snapshot);
        }, cancellationToken);
    }

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var serialized = SqliteStore.Serialize(Context.System, snapshot);
        return SqliteStore.RunAsync(_path, _synchronous, "snapshot save", cmd =>
        {
            cmd.CommandText = """
                INSERT OR REPLACE INTO paxos_snapshot (persistence_id, sequence_nr, created, serializer_id, manifest, payload)
                VALUES ($pid, $seq, $created, $ser, $man, $pay)
                """;
            cmd.Parameters.AddWithValue("$pid", metadata.PersistenceId);
            cmd.Parameters.AddWithValue("$seq", metadata.SequenceNr);
            cmd.Parameters.AddWithValue("$created", metadata.Timestamp.Ticks);
            cmd.Parameters.AddWithValue("$ser", serialized.SerializerId);
            cmd.Parameters.AddWithValue("$man", serialized.Manifest);
            cmd.Parameters.Add("$pay", SqliteType.Blob).Value = serialized.Bytes;
            return cmd.ExecuteNonQuery();
        }, cancellationToken);
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) =>
        SqliteStore.RunAsync(_path, _synchronous, "snapshot delete", cmd =>
        {
            // A zero timestamp means "whatever time it was saved at" (Akka's convention for DeleteSnapshot).
            cmd.CommandText = "DELETE FROM paxos_snapshot WHERE persistence_id = $pid AND sequence_nr = $seq" +
                              (metadata.Timestamp == DateTime.MinValue ? "" : " AND created = $created");
            cmd.Parameters.AddWithValue("$pid", metadata.PersistenceId);
            cmd.Parameters.AddWithValue("$seq", metadata.SequenceNr);
            cmd.Parameters.AddWithValue("$created", metadata.Timestamp.Ticks);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        SqliteStore.RunAsync(_path, _synchronous, "snapshot delete", cmd =>
        {
            cmd.CommandText = """
                DELETE FROM paxos_snapshot
                WHERE persistence_id = $pid AND sequence_nr <= $maxSeq AND sequence_nr >= $minSeq
                  AND created <= $maxTime AND created >= $minTime
                """;
            cmd.Parameters.AddWithValue("$pid", persistenceId);
            AddCriteria(cmd, criteria);
            return cmd.ExecuteNonQuery();
        }, cancellationToken);

    private static void AddCriteria(SqliteCommand cmd, SnapshotSelectionCriteria criteria)
    {
        cmd.Parameters.AddWithValue("$maxSeq", criteria.MaxSequenceNr);
        cmd.Parameters.AddWithValue("$minSeq", criteria.MinSequenceNr);
        cmd.Parameters.AddWithValue("$maxTime", criteria.MaxTimeStamp.Ticks);
        cmd.Parameters.AddWithValue("$minTime", criteria.MinTimestamp?.Ticks ?? 0L);
    }
}
