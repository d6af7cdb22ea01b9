using Akka.Configuration;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;

namespace PaxosActors.Persistence;

/// <summary>
/// The node's journal and snapshot store: Akka.Persistence.Sql on one SQLite file through
/// Microsoft.Data.Sqlite (provider <c>SQLite.MS</c>), tables created on start.
/// </summary>
public static class SqliteJournal
{
    /// <summary>
    /// Readies the file before the ActorSystem opens it: creates its folder and turns on WAL, which
    /// is a property of the file and must be set before the plugin's pooled connections exist.
    /// WAL commits are still fsynced at <c>synchronous=FULL</c>, SQLite's default, which
    /// <see cref="SynchronousMode"/> reports.
    /// </summary>
    public static void Prepare(string databasePath)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(databasePath));
        if (dir is not null) Directory.CreateDirectory(dir);
        using var connection = new SqliteConnection(ConnectionString(databasePath));
        connection.Open();
        using var wal = connection.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL;";
        string mode = (string)wal.ExecuteScalar()!;
        if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{databasePath}: SQLite refused WAL mode (got {mode})");
    }

    /// <summary>The <c>synchronous</c> setting a fresh connection to the file gets (2 = FULL: fsync on every commit).</summary>
    public static long SynchronousMode(string databasePath)
    {
        using var connection = new SqliteConnection(ConnectionString(databasePath));
        connection.Open();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA synchronous;";
        return (long)cmd.ExecuteScalar()!;
    }

    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();

    /// <summary>Persistence configuration for the file, with the plugin's defaults as fallback (it needs them).</summary>
    public static Config Config(string databasePath)
    {
        string cs = ConnectionString(databasePath).Replace("\\", "\\\\").Replace("\"", "\\\"");
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = "{{cs}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = on
                  # SQLite has one writer at a time: more parallel writers only fight over the lock.
                  parallelism = 1
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = "{{cs}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = on
                }
              }
            }
            """).WithFallback(SqlPersistence.DefaultConfiguration);
    }
}
