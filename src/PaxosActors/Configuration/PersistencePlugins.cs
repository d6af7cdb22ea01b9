using Akka.Configuration;

namespace PaxosActors.Configuration;

/// <summary>
/// The Akka.Persistence plugins the Paxos agents journal and snapshot to: <c>paxos.persistence.journal-plugin</c> and
/// <c>paxos.persistence.snapshot-plugin</c>, each the config path of a plugin (<c>akka.persistence.journal.sql</c>, say).
/// Empty: Akka's default plugins, which a node sets to its own SQLite file (<see cref="Persistence.SqliteJournal"/>).
/// </summary>
public sealed record PersistencePlugins(string Journal, string Snapshots)
{
    /// <summary>True when the agents use the node's built-in SQLite plugins (neither id is set).</summary>
    public bool BuiltIn => Journal.Length == 0 && Snapshots.Length == 0;

    public static PersistencePlugins From(Config config) => new(
        config.GetString("paxos.persistence.journal-plugin", "") ?? "",
        config.GetString("paxos.persistence.snapshot-plugin", "") ?? "");
}
