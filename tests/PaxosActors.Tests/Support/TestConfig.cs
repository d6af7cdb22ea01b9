using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Persistence;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PaxosActors.Tests.Support;

/// <summary>Configuration for one spec: its own SQLite file, and every message forced through the
/// wire serializer so a message that cannot cross the network fails here.</summary>
public static class TestConfig
{
    /// <summary>A fresh database path under the temp folder; each spec gets its own.</summary>
    public static string NewDatabasePath() =>
        Path.Combine(Path.GetTempPath(), "paxos-actors-tests", $"{Guid.NewGuid():N}.db");

    public static Config WithJournal(string databasePath, string extra = "")
    {
        SqliteJournal.Prepare(databasePath);
        return ConfigurationFactory.ParseString(extra + """

                akka.loglevel = WARNING
                # A journal's first start (tables, connection pool) can take seconds on a loaded 2-core box.
                akka.test.single-expect-default = 15s
                akka.actor.serialize-messages = on
                paxos { acceptors = [1, 2, 3], data-dir = "." }
                """)
            .WithFallback(SqliteJournal.Config(databasePath))
            .WithFallback(PaxosSettings.DefaultConfig);
    }
}
