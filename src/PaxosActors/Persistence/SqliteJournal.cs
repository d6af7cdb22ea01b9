using System.Collections.Concurrent;
using Akka.Configuration;
using Microsoft.Data.Sqlite;
using PaxosActors.Configuration;

namespace PaxosActors.Persistence;

/// <summary>
/// The node's journal and snapshot store: one SQLite file (WAL, <c>synchronous=FULL</c>) through
/// Microsoft.Data.Sqlite, written by <see cref="SqliteWriteJournal"/> and <see cref="SqliteSnapshotStore"/>.
/// </summary>
public static class SqliteJournal
{
    /// <summary>
    /// Readies the file before the ActorSystem opens it: creates its folder, turns on WAL (a property of
    /// the file, which must be set before the plugin's pooled connections exist), and checks that SQLite
    /// can read it whole (<c>PRAGMA quick_check</c>, one pass over the file). WAL commits are still fsynced:
    /// the plugins' connections run at <c>synchronous=FULL</c> (<see cref="SqliteStore.Open"/>), which
    /// <see cref="SynchronousMode"/> reports.
    /// <para>
    /// A file SQLite cannot open or read (a header overwritten: "file is not a database"; truncated, or a
    /// damaged page: "database disk image is malformed"; or unreadable for another reason) throws
    /// <see cref="JournalUnreadableException"/>, and the node then runs without it (see
    /// <see cref="Hosting.PaxosNodeHost"/>). The quick_check is there so that damage inside the file is found
    /// here, once, rather than later by whichever actor happens to read the damaged page, each retried by its
    /// supervisor; it reads every page once (milliseconds for a compacted journal of a few MB, longer in
    /// proportion for a large key-value snapshot). The verdict sticks for the rest of the process: later calls for
    /// the same file throw the same exception without opening it, so that nothing in a process that found
    /// its journal unreadable ever starts from whatever is at that path afterwards (a file moved aside and
    /// recreated empty, say). A missing or empty (0-byte) file is not unreadable: it is a new, empty
    /// journal, and an acceptor that had voted before finds that out from the others (AcceptorStartup).
    /// </para>
    /// </summary>
    public static void Prepare(string databasePath)
    {
        string path = Path.GetFullPath(databasePath);
        if (Unreadable.TryGetValue(path, out var known)) throw known;
        string? dir = Path.GetDirectoryName(path);
        if (dir is not null) Directory.CreateDirectory(dir);
        using var connection = new SqliteConnection(ConnectionString(databasePath));
        try
        {
            connection.Open();
            using var wal = connection.CreateCommand();
            wal.CommandText = "PRAGMA journal_mode=WAL;";
            string mode = (string)wal.ExecuteScalar()!;
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"{databasePath}: SQLite refused WAL mode (got {mode})");
            if (QuickCheck(connection) is { } problem)
                throw new JournalUnreadableException(path, problem, corrupt: true);
            if (WrittenByOldPlugin(connection))
                throw new JournalUnreadableException(path,
                    "it was written by the Akka.Persistence.Sql journal of an earlier PaxosActors version, whose tables this version does not read",
                    corrupt: false, advice: "Its votes cannot be carried over: stop the node, move " + Path.GetFileName(path) +
                    "* aside, and start it once with --rebuild-acceptor (README, 'Recovering an acceptor'); on a cluster " +
                    "whose nodes all have such files, start it afresh with empty data directories.");
        }
        catch (SqliteException e)
        {
            var unreadable = new JournalUnreadableException(path, e.Message, IsCorruption(e), e);
            Unreadable[path] = unreadable;
            SqliteConnection.ClearPool(connection); // no handle on the damaged file stays open in the pool
            throw unreadable;
        }
        catch (JournalUnreadableException e)
        {
            Unreadable[path] = e;
            SqliteConnection.ClearPool(connection);
            throw;
        }
    }

    /// <summary>Files found unreadable in this process, by full path (see <see cref="Prepare"/>).</summary>
    private static readonly ConcurrentDictionary<string, JournalUnreadableException> Unreadable = new();

    /// <summary>SQLite's own damage codes: SQLITE_CORRUPT (11) and SQLITE_NOTADB (26).</summary>
    public static bool IsCorruption(SqliteException e) => e.SqliteErrorCode is 11 or 26;

    /// <summary>What <c>PRAGMA quick_check</c> found wrong (its first lines), or null when it says "ok".</summary>
    private static string? QuickCheck(SqliteConnection connection)
    {
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA quick_check(3);";
        using var reader = check.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read()) lines.Add(reader.GetString(0));
        return lines is ["ok"] ? null : "quick_check: " + string.Join("; ", lines).ReplaceLineEndings(" ");
    }

    /// <summary>
    /// Whether the file holds the tables of the Akka.Persistence.Sql journal this project used before
    /// <see cref="SqliteWriteJournal"/> (an <c>event_journal</c> or <c>journal</c> table with an <c>ordering</c> column)
    /// and none of its own: its votes would be invisible to this version, so it must not pass for an empty journal.
    /// </summary>
    private static bool WrittenByOldPlugin(SqliteConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT (SELECT COUNT(*) FROM pragma_table_info('journal') WHERE name = 'ordering')
                 + (SELECT COUNT(*) FROM pragma_table_info('event_journal') WHERE name = 'ordering') > 0
               AND (SELECT COUNT(*) FROM sqlite_master WHERE name = 'paxos_journal') = 0
            """;
        return (long)cmd.ExecuteScalar()! == 1;
    }

    /// <summary>
    /// The <c>synchronous</c> setting the journal's and snapshot store's connections run with by default, read back from
    /// SQLite on a connection opened as they open theirs (2 = FULL: fsync on every commit). What the plugins' own
    /// connections run with is checked on those connections by tests/PaxosActors.Tests/Persistence/JournalConnectionSpec.cs.
    /// </summary>
    public static long SynchronousMode(string databasePath)
    {
        using var connection = SqliteStore.Open(databasePath, SqliteStore.Full);
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA synchronous;";
        return (long)cmd.ExecuteScalar()!;
    }

    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();

    /// <summary>The config paths of the node's SQLite journal and snapshot store (<see cref="Config"/> defines them).</summary>
    public const string JournalPluginId = "akka.persistence.journal.paxos-sqlite", SnapshotPluginId = "akka.persistence.snapshot-store.paxos-sqlite";

    /// <summary>
    /// Persistence configuration for the file: <see cref="SqliteWriteJournal"/> and <see cref="SqliteSnapshotStore"/>
    /// on it. <c>max-batch</c> bounds how many queued writes share one transaction (one fsync). Each plugin also reads
    /// <c>synchronous</c>, left out here so that a node's own configuration can set it: <c>full</c> when absent, the only
    /// durable value; <c>normal</c> and <c>off</c> exist for the power-cut test's negative control and lose acknowledged
    /// writes when the machine loses power (<see cref="SqliteStore.SynchronousOf"/>). The journal also reads the test-only
    /// <c>max-page-count</c>, which caps the file so that a test can fill it (<see cref="SqliteStore.CapPages"/>).
    /// </summary>
    /// <param name="databasePath">The node's SQLite file.</param>
    /// <param name="asDefault">Also make them Akka's default plugins (the node executable's choice); an application that
    /// hosts Paxos keeps its own defaults, and the Paxos agents name these plugins by id (<c>paxos.persistence</c>).</param>
    public static Config Config(string databasePath, bool asDefault = true)
    {
        string path = HoconString.Quote(Path.GetFullPath(databasePath));
        string defaults = asDefault ? $"akka.persistence.journal.plugin = \"{JournalPluginId}\"\nakka.persistence.snapshot-store.plugin = \"{SnapshotPluginId}\"\n" : "";
        return ConfigurationFactory.ParseString(defaults + $$"""
            akka.persistence {
              journal {
                paxos-sqlite {
                  class = "PaxosActors.Persistence.SqliteWriteJournal, PaxosActors"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  path = {{path}}
                  max-batch = 1024
                }
              }
              snapshot-store {
                paxos-sqlite {
                  class = "PaxosActors.Persistence.SqliteSnapshotStore, PaxosActors"
                  plugin-dispatcher = "akka.actor.default-dispatcher"
                  path = {{path}}
                }
              }
            }
            """);
    }

    /// <summary>
    /// Persistence for a node whose file is unreadable: Akka's in-memory journal and snapshot store, so that
    /// the proposer and learner start empty (as after a deleted file) and nothing in the process touches the
    /// damaged file. The node's acceptor does not run at all then (<see cref="Hosting.PaxosNodeHost"/>).
    /// </summary>
    public static Config InMemoryConfig { get; } = ConfigurationFactory.ParseString("""
        akka.persistence {
          journal.plugin = "akka.persistence.journal.inmem"
          snapshot-store.plugin = "akka.persistence.snapshot-store.inmem"
        }
        """);
}

/// <summary>
/// The node's SQLite file cannot be read (<see cref="SqliteJournal.Prepare"/>): <see cref="Corrupt"/> when
/// SQLite says it is damaged ("file is not a database", "database disk image is malformed", or a failed
/// quick_check), otherwise it could not be opened (permissions, I/O error, locked).
/// </summary>
public sealed class JournalUnreadableException(string path, string sqliteError, bool corrupt, Exception? inner = null,
    string? advice = null)
    : Exception($"the journal file {path} is {(corrupt ? "corrupt" : "unreadable")} ({sqliteError.TrimEnd('.')})", inner)
{
    public string Path { get; } = path;
    public string SqliteError { get; } = sqliteError;
    public bool Corrupt { get; } = corrupt;

    /// <summary>What an operator does about it, for the log and /status.</summary>
    public string Advice
    {
        get
        {
            if (advice is not null) return advice;
            string files = System.IO.Path.GetFileName(Path) + "*";
            return Corrupt
                ? $"To recover (README, 'Recovering an acceptor'): stop the node, move {files} aside, and start it once with --rebuild-acceptor."
                : $"Fix what keeps SQLite from opening it and restart the node; if SQLite then reports it corrupt, see README, 'Recovering an acceptor' (move {files} aside, start once with --rebuild-acceptor).";
        }
    }
}
