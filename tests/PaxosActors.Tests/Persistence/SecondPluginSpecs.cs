using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using PaxosActors.Core.Protocol;
using PaxosActors.Configuration;
using PaxosActors.Tests.Actors;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Persistence;

/// <summary>
/// The actor specs of the three Paxos agents again, on a journal and snapshot store that are not the node's own:
/// Akka.Persistence.Sql (linq2db) on a SQLite file of its own, named through <c>paxos.persistence</c> while Akka's
/// default plugins stay the built-in ones. The agents assume nothing of the built-in journal.
/// </summary>
public static class SecondPluginSpecs
{
    public const string Journal = "akka.persistence.journal.sql", Snapshots = "akka.persistence.snapshot-store.sql";

    /// <summary>The project's test configuration with the agents on Akka.Persistence.Sql.</summary>
    public static Config Config()
    {
        string path = TestConfig.NewDatabasePath();
        string connection = HoconString.Quote($"Data Source={path.Replace(".db", "-sql.db")}");
        return ConfigurationFactory.ParseString($$"""
                paxos.persistence { journal-plugin = "{{Journal}}", snapshot-plugin = "{{Snapshots}}" }
                # linq2db's first use (mapping, connection, tables) takes seconds more than the built-in journal's on a
                # loaded 2-core box: one spec timed out at 15 s under a load average of 37.
                akka.test.single-expect-default = 30s
                akka.persistence {
                  journal.sql {
                    class = "Akka.Persistence.Sql.Journal.SqlWriteJournal, Akka.Persistence.Sql"
                    connection-string = {{connection}}
                    provider-name = "SQLite.MS"
                    auto-initialize = true
                  }
                  snapshot-store.sql {
                    class = "Akka.Persistence.Sql.Snapshot.SqlSnapshotStore, Akka.Persistence.Sql"
                    connection-string = {{connection}}
                    provider-name = "SQLite.MS"
                    auto-initialize = true
                  }
                }
                """)
            .WithFallback(TestConfig.WithJournal(path));
    }
}

public sealed class AcceptorActorSpecOnSqlPlugin() : AcceptorActorSpec(SecondPluginSpecs.Config())
{
    [Fact]
    public async Task The_acceptor_journals_to_the_plugin_its_settings_name_and_not_to_the_default_one()
    {
        var acceptor = NewAcceptor();
        acceptor.Tell(new Prepare(new Ballot(5, 2), 0));
        await _proposer2.ExpectMsgAsync<Promise>();

        var replies = CreateTestProbe();
        var persistence = Akka.Persistence.Persistence.Instance.Apply(Sys);
        persistence.JournalFor(SecondPluginSpecs.Journal).Tell(new ReplayMessages(0, long.MaxValue, long.MaxValue, "acceptor-7", replies.Ref));
        await replies.ExpectMsgAsync<ReplayedMessage>();
        await replies.FishForMessageAsync(m => m is RecoverySuccess);

        persistence.JournalFor(null).Tell(new ReplayMessages(0, long.MaxValue, long.MaxValue, "acceptor-7", replies.Ref));
        await replies.ExpectMsgAsync<RecoverySuccess>(); // the built-in journal holds nothing of it
    }
}

public sealed class LearnerActorSpecOnSqlPlugin() : LearnerActorSpec(SecondPluginSpecs.Config());

public sealed class ProposerActorSpecOnSqlPlugin() : ProposerActorSpec(SecondPluginSpecs.Config());
