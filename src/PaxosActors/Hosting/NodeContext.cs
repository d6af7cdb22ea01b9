using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Core.Learners;
using PaxosActors.Routing;

namespace PaxosActors.Hosting;

/// <summary>What a role sees of the node it runs on: the ActorSystem, settings, the Paxos actors, and a
/// small service registry through which roles and the HTTP front end find each other.</summary>
public sealed class NodeContext(ActorSystem system, Config config, PaxosSettings settings, AgentDirectory directory,
    IReadOnlySet<string> roles)
{
    private readonly ConcurrentDictionary<Type, object> _services = new();

    public ActorSystem System { get; } = system;
    public Config Config { get; } = config;
    public PaxosSettings Settings { get; } = settings;
    public AgentDirectory Directory { get; } = directory;

    /// <summary>What the roles report about themselves, for /status.</summary>
    public NodeHealth Health { get; } = new();

    /// <summary>Why the node runs without its SQLite file (it cannot be read), or null; see <see cref="PaxosNodeHost"/>.</summary>
    public string? JournalError { get; internal set; }

    /// <summary>The roles this node runs, as named in <c>akka.cluster.roles</c>.</summary>
    public IReadOnlySet<string> Roles { get; } = roles;

    /// <summary>What the learner applies chosen values to; a role sets it in <see cref="INodeRole.Configure"/>.</summary>
    public Func<IActorContext, IStateMachine>? StateMachine { get; set; }

    /// <summary>The node's Paxos actors, once started.</summary>
    public PaxosNodeRefs Paxos { get; internal set; } = new(settings.NodeId, null, null, null);

    public void AddService<T>(T service) where T : class => _services[typeof(T)] = service;

    public T? Service<T>() where T : class => _services.TryGetValue(typeof(T), out var s) ? (T)s : null;
}
