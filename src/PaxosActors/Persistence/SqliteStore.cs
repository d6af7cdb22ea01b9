using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Journal;
using Microsoft.Data.Sqlite;

namespace PaxosActors.Persistence;

/// <summary>
/// The tables of the node's journal and snapshot store in its SQLite file, and the few things the
/// <see cref="SqliteWriteJournal"/> and <see cref="SqliteSnapshotStore"/> share: opening a connection with the
/// durability settings, and turning payloads into rows and back through Akka's serialization.
/// </summary>
internal static class SqliteStore
{
    /// <summary>
    /// One row per event. <c>serializer_id</c> and <c>manifest</c> are Akka serialization's: the same event reads
    /// back through the serializer that wrote it. Deleting events never lowers a persistence id's highest sequence
    /// number: <c>paxos_journal_deleted</c> remembers how far it was deleted, so a restarted actor continues above it.
    /// </summary>
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS paxos_journal (
          persistence_id TEXT NOT NULL,
          sequence_nr INTEGER NOT NULL,
          serializer_id INTEGER NOT NULL,
          manifest TEXT NOT NULL,
          writer_uuid TEXT NOT NULL,
          payload BLOB NOT NULL,
          PRIMARY KEY (persistence_id, sequence_nr));
        CREATE TABLE IF NOT EXISTS paxos_journal_deleted (
          persistence_id TEXT NOT NULL PRIMARY KEY,
          deleted_to INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS paxos_snapshot (
          persistence_id TEXT NOT NULL,
          sequence_nr INTEGER NOT NULL,
          created INTEGER NOT NULL,
          serializer_id INTEGER NOT NULL,
          manifest TEXT NOT NULL,
          payload BLOB NOT NULL,
          PRIMARY KEY (persistence_id, sequence_nr));
        """;

    /// <summary>SQLite's default and the plugins': in WAL mode every commit fsyncs the log before it returns.</summary>
    public const string Full = "FULL";

    /// <summary>
    /// A plugin's <c>synchronous</c> setting (<c>full</c> when absent), as the <c>PRAGMA synchronous</c> value its
    /// connections are opened with. Only <c>full</c> makes a commit durable when it returns; <c>normal</c> (in WAL mode,
    /// fsync only at checkpoints) and <c>off</c> (never) exist for the test that proves the power-cut test can fail
    /// (tests/PaxosActors.Durability.Tests) and lose acknowledged writes in any real crash of the machine.
    /// </summary>
    public static string SynchronousOf(Akka.Configuration.Config config)
    {
        string value = config.GetString("synchronous", "full");
        return value.ToUpperInvariant() switch
        {
            "FULL" => Full,
            "NORMAL" => "NORMAL",
            "OFF" => "OFF",
            _ => throw new Akka.Configuration.ConfigurationException(
                $"the SQLite journal plugin's 'synchronous' must be full (the default), normal or off, not '{value}'"),
        };
    }

    /// <summary>
    /// Opens a connection to the file with <paramref name="synchronous"/> (<see cref="Full"/> but in the power-cut
    /// test's negative control): at FULL, in WAL mode, every commit fsyncs the log before it returns.
    /// </summary>
    public static SqliteConnection Open(string path, string synchronous)
    {
        var connection = new SqliteConnection(SqliteJournal.ConnectionString(path));
        try
        {
            connection.Open();
            using var cmd = connection.CreateCommand();
            cmd.CommandText = PageCaps.TryGetValue(path, out long cap)
                ? $"PRAGMA synchronous={synchronous}; PRAGMA max_page_count={cap};"
                : $"PRAGMA synchronous={synchronous};";
            cmd.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Test hook, by file: the journal plugin's <c>max-page-count</c> (absent or 0 in any real deployment), set as
    /// <c>PRAGMA max_page_count</c> on every connection to the file, so that a test can make its journal full (SQLite
    /// Error 13: 'database or disk is full', exactly what a full disk gives) without filling a disk.
    /// </summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> PageCaps = new();

    /// <summary>Reads the plugin's <c>max-page-count</c> for <paramref name="path"/> (see <see cref="PageCaps"/>).</summary>
    public static void CapPages(string path, Akka.Configuration.Config config)
    {
        long cap = config.GetLong("max-page-count", 0);
        if (cap > 0) PageCaps[path] = cap;
        else PageCaps.TryRemove(path, out _);
    }

    /// <summary>
    /// Test hook: called with the file, what the connection is about to do (<c>write</c>, <c>create tables</c>,
    /// <c>replay</c>, <c>highest sequence number</c>, <c>snapshot load</c>, <c>snapshot save</c>, <c>snapshot delete</c>)
    /// and the very connection, before each use, so that a test can ask SQLite how that connection is set up
    /// (tests/PaxosActors.Tests/Persistence/JournalConnectionSpec.cs). Null outside tests: one static read per use.
    /// </summary>
    internal static Action<string, string, SqliteConnection>? ConnectionInUse;

    /// <summary>Tells <see cref="ConnectionInUse"/>, if set, that <paramref name="connection"/> is about to <paramref name="use"/>.</summary>
    public static void InUse(string path, string use, SqliteConnection connection) => ConnectionInUse?.Invoke(path, use, connection);

    /// <summary>Creates the tables if they are not there; each plugin does this once, when it starts.</summary>
    public static void CreateTables(string path, string synchronous)
    {
        using var connection = Open(path, synchronous);
        InUse(path, "create tables", connection);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = Schema;
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool with a command on a pooled connection of its own: how reads
    /// and snapshot operations run, beside the journal's writer (in WAL mode readers never wait for it).
    /// </summary>
    public static Task<T> RunAsync<T>(string path, string synchronous, string use, Func<SqliteCommand, T> work,
        CancellationToken cancellationToken = default) =>
        Task.Run(() =>
        {
            using var connection = Open(path, synchronous);
            InUse(path, use, connection);
            using var cmd = connection.CreateCommand();
            return work(cmd);
        }, cancellationToken);

    /// <summary>The file a plugin's HOCON block names (<c>path</c>).</summary>
    public static string PathOf(Akka.Configuration.Config config) =>
        config.GetString("path") is { Length: > 0 } path
            ? path
            : throw new Akka.Configuration.ConfigurationException("the SQLite journal plugin needs 'path' (the node's .db file)");

    public readonly record struct SerializedPayload(int SerializerId, string Manifest, byte[] Bytes);

    public static SerializedPayload Serialize(ActorSystem system, object payload)
    {
        var serializer = system.Serialization.FindSerializerFor(payload);
        string manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        return new SerializedPayload(serializer.Identifier, manifest, serializer.ToBinary(payload));
    }

    public static object Deserialize(ActorSystem system, byte[] bytes, int serializerId, string manifest) =>
        system.Serialization.Deserialize(bytes, serializerId, manifest);

    /// <summary>Events are stored without their tags (nothing here queries by tag).</summary>
    public static object Untagged(object payload) => payload is Tagged tagged ? tagged.Payload : payload;
}
