using System.Text;
using Akka.Configuration;
using PaxosActors.Configuration;

namespace PaxosActors.Hosting;

/// <summary>
/// Typed options for <see cref="PaxosHostingExtensions.WithPaxos"/>: each maps onto one HOCON key of the <c>paxos</c>
/// section (named on the property) and, when set, wins over the HOCON, as Akka.Hosting's own options do. Unset
/// (null) options leave the HOCON, and then the library's defaults, in force.
/// </summary>
public sealed class PaxosOptions
{
    /// <summary><c>paxos.node-id</c>: this node's id, a positive integer unique in the cluster.</summary>
    public int? NodeId { get; set; }

    /// <summary><c>paxos.acceptors</c>: the first acceptor set of a new cluster, by node id.</summary>
    public IReadOnlyList<int>? Acceptors { get; set; }

    /// <summary><c>paxos.members</c>: the nodes that run a proposer and a learner (empty: the acceptors).</summary>
    public IReadOnlyList<int>? Members { get; set; }

    /// <summary><c>paxos.data-dir</c>: where the node's SQLite file lives.</summary>
    public string? DataDir { get; set; }

    /// <summary><c>paxos.seeds</c>: "host:port,host:port", replacing <c>akka.cluster.seed-nodes</c> when set.</summary>
    public string? Seeds { get; set; }

    /// <summary><c>akka.cluster.roles</c>: what this node runs, the Paxos agents (<c>acceptor</c>, <c>proposer</c>,
    /// <c>learner</c>) and any role registered with <see cref="WithRole{TRole}"/>. Null: the HOCON's roles.</summary>
    public IReadOnlyList<string>? Roles { get; set; }

    /// <summary><c>paxos.tick-interval</c>.</summary>
    public TimeSpan? TickInterval { get; set; }

    /// <summary><c>paxos.heartbeat-interval</c>.</summary>
    public TimeSpan? HeartbeatInterval { get; set; }

    /// <summary><c>paxos.election-timeout</c>.</summary>
    public TimeSpan? ElectionTimeout { get; set; }

    /// <summary><c>paxos.phase-timeout</c>.</summary>
    public TimeSpan? PhaseTimeout { get; set; }

    /// <summary><c>paxos.snapshot-every</c>.</summary>
    public int? SnapshotEvery { get; set; }

    /// <summary><c>paxos.persistence.journal-plugin</c>: the config path of the Akka.Persistence journal the agents use
    /// (null or empty: the built-in SQLite journal on <see cref="DataDir"/>).</summary>
    public string? JournalPlugin { get; set; }

    /// <summary><c>paxos.persistence.snapshot-plugin</c>: likewise for the snapshot store.</summary>
    public string? SnapshotPlugin { get; set; }

    /// <summary>The roles registered in code; they run on the nodes whose cluster roles name them.</summary>
    public RoleRegistry Registry { get; } = new();

    /// <summary>Registers <typeparamref name="TRole"/> under its <see cref="INodeRole.Name"/>.</summary>
    public PaxosOptions WithRole<TRole>() where TRole : INodeRole, new()
    {
        Registry.Add(new TRole().Name, () => new TRole());
        return this;
    }

    /// <summary>Registers a role made by <paramref name="create"/> under <paramref name="name"/>.</summary>
    public PaxosOptions WithRole(string name, Func<INodeRole> create)
    {
        Registry.Add(name, create);
        return this;
    }

    /// <summary>The options that are set, as HOCON.</summary>
    public Config ToConfig()
    {
        var hocon = new StringBuilder();
        void Key(string key, string? value)
        {
            if (value is not null) hocon.Append(key).Append(" = ").Append(value).Append('\n');
        }
        static string? Ms(TimeSpan? t) => t is { } v ? $"{(long)v.TotalMilliseconds}ms" : null;
        static string? Ids(IReadOnlyList<int>? ids) => ids is null ? null : $"[{string.Join(", ", ids)}]";
        Key("paxos.node-id", NodeId?.ToString());
        Key("paxos.acceptors", Ids(Acceptors));
        Key("paxos.members", Ids(Members));
        Key("paxos.data-dir", DataDir is null ? null : HoconString.Quote(DataDir));
        Key("paxos.seeds", Seeds is null ? null : HoconString.Quote(Seeds));
        Key("akka.cluster.roles", Roles is null ? null : HoconString.QuoteList(Roles));
        Key("paxos.tick-interval", Ms(TickInterval));
        Key("paxos.heartbeat-interval", Ms(HeartbeatInterval));
        Key("paxos.election-timeout", Ms(ElectionTimeout));
        Key("paxos.phase-timeout", Ms(PhaseTimeout));
        Key("paxos.snapshot-every", SnapshotEvery?.ToString());
        Key("paxos.persistence.journal-plugin", string.IsNullOrEmpty(JournalPlugin) ? null : HoconString.Quote(JournalPlugin));
        Key("paxos.persistence.snapshot-plugin", string.IsNullOrEmpty(SnapshotPlugin) ? null : HoconString.Quote(SnapshotPlugin));
        return ConfigurationFactory.ParseString(hocon.ToString());
    }
}
