using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Diagnostics;
using PaxosActors.Replication;
using PaxosActors.Routing;

namespace PaxosActors.Hosting;

/// <summary>What a role sees of the node it runs on: the ActorSystem, settings, the Paxos actors, the replicated state
/// machines, the applied stream, the client for its own commands, and a small service registry through which roles and
/// the HTTP front end find each other.</summary>
public sealed class NodeContext
{
    private readonly ConcurrentDictionary<Type, object> _services = new();

    public NodeContext(ActorSystem system, Config config, PaxosSettings settings, AgentDirectory directory,
        IReadOnlySet<string> roles, CommandSettings? commands = null)
    {
        System = system;
        Config = config;
        Settings = settings;
        Directory = directory;
        Roles = roles;
        Commands = new CommandClient(commands ?? CommandSettings.Create(config));
        Applied = new AppliedStream(system);
        Paxos = new PaxosNodeRefs(settings.NodeId, null, null, null);
        Health = new NodeHealth(JournalHealth.Get(system));
    }

    public ActorSystem System { get; }
    public Config Config { get; }
    public PaxosSettings Settings { get; }
    public AgentDirectory Directory { get; }

    /// <summary>What the roles report about themselves, and whether the journal accepts writes, for /status and /health.</summary>
    public NodeHealth Health { get; }

    /// <summary>The node's metrics (meter <see cref="PaxosMetrics.MeterName"/>).</summary>
    public PaxosMetrics Metrics => PaxosMetrics.Get(System);

    /// <summary>Why the node runs without its SQLite file (it cannot be read), or null; see <see cref="PaxosNodeHost"/>.</summary>
    public string? JournalError { get; internal set; }

    /// <summary>The roles this node runs, as named in <c>akka.cluster.roles</c>.</summary>
    public IReadOnlySet<string> Roles { get; }

    /// <summary>The role objects of this start (not the built-in Paxos ones), in the order they were configured.</summary>
    public IReadOnlyList<INodeRole> RoleInstances { get; internal set; } = [];

    /// <summary>The node's TLS material (<c>paxos.tls</c>), or null when remoting runs in the clear.</summary>
    public Security.TlsSettings? Tls { get; internal set; }

    /// <summary>The replicated state machines: a role registers its own in <see cref="INodeRole.Configure"/>.</summary>
    public StateMachineRegistry StateMachines { get; } = new();

    /// <summary>Every slot this node's learner applies, for any number of subscribing actors.</summary>
    public AppliedStream Applied { get; }

    /// <summary>Submits a role's commands through the log, each applied once (needs the proposer and learner roles).</summary>
    public CommandClient Commands { get; }

    /// <summary>The node's Paxos actors, once started.</summary>
    public PaxosNodeRefs Paxos { get; internal set; }

    public void AddService<T>(T service) where T : class => _services[typeof(T)] = service;

    public T? Service<T>() where T : class => _services.TryGetValue(typeof(T), out var s) ? (T)s : null;

    /// <summary>The role object named <paramref name="name"/> of this start, or null.</summary>
    public INodeRole? Role(string name) => RoleInstances.FirstOrDefault(r => r.Name == name);
}
