using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;

namespace PaxosActors.Routing;

/// <summary>
/// Maps agents (<see cref="AgentId"/>: a kind of agent on a node id) to the actors that carry them, as this node
/// currently knows them: its own at start, remote ones as cluster members are discovered (<see cref="ClusterDirectory"/>).
/// Every protocol message leaves through <see cref="Send"/>. Shared by one node's actors; lock-free for readers.
/// </summary>
public sealed class AgentDirectory(ILoggingAdapter? log = null)
{
    private ImmutableDictionary<AgentId, IActorRef> _refs = ImmutableDictionary<AgentId, IActorRef>.Empty;
    private ImmutableHashSet<AgentId> _reportedUnknown = ImmutableHashSet<AgentId>.Empty;
    private ImmutableDictionary<int, Uri> _clientUrls = ImmutableDictionary<int, Uri>.Empty;
    private volatile int _leader;

    /// <summary>The node this node's proposer takes for the leader (Multi-Paxos; null: none known, or no proposer here).
    /// Set by the proposer's actor after each step; a view that can lag, for routing clients, never for safety.</summary>
    public int? Leader
    {
        get => _leader > 0 ? _leader : null;
        set => _leader = value ?? 0;
    }

    /// <summary>Where clients reach <paramref name="node"/>'s API, as it announced (<c>paxos.client-url</c>), or null.</summary>
    public Uri? ClientUrl(int node) => _clientUrls.TryGetValue(node, out var url) ? url : null;

    /// <summary>Records (or, with null, forgets) the client URL <paramref name="node"/> announced.</summary>
    public void SetClientUrl(int node, Uri? url)
    {
        if (url is null) ImmutableInterlocked.TryRemove(ref _clientUrls, node, out _);
        else ImmutableInterlocked.AddOrUpdate(ref _clientUrls, node, url, (_, _) => url);
    }

    /// <summary>Sees every message as it leaves: the demo prints the protocol with it.</summary>
    public Action<AgentId, Outgoing>? Trace { get; set; }

    /// <summary>Tests only: a message for which this returns true is dropped, as a network split would drop it (a
    /// partition of the Paxos traffic inside one process, with the Akka cluster itself left whole).</summary>
    public Func<AgentId, Outgoing, bool>? Cut { get; set; }

    /// <summary>The path of an agent's actor on its node: <c>/user/acceptor-3</c>, for the local actor and remote
    /// lookups alike.</summary>
    public static ActorPath PathOn(Akka.Actor.Address node, AgentId agent) => new RootActorPath(node) / "user" / agent.ActorName;

    public void Register(AgentId agent, IActorRef actor)
    {
        ImmutableInterlocked.AddOrUpdate(ref _refs, agent, actor, (_, _) => actor);
        ImmutableInterlocked.Update(ref _reportedUnknown, s => s.Remove(agent)); // a later loss is news again
    }

    /// <summary>Forgets every agent of <paramref name="node"/>, e.g. when it leaves the cluster.</summary>
    public void Forget(int node)
    {
        foreach (var key in _refs.Keys.Where(a => a.Node == node))
            ImmutableInterlocked.TryRemove(ref _refs, key, out _);
        ImmutableInterlocked.TryRemove(ref _clientUrls, node, out _);
    }

    public IActorRef? Resolve(AgentId agent) => _refs.TryGetValue(agent, out var r) ? r : null;

    /// <summary>Sends a message on behalf of agent <paramref name="from"/>. A message to an agent this node does not know
    /// (a node that is down or not yet discovered) is dropped, as a lossy network would, and the protocol's timeouts deal
    /// with it; the first drop for each agent is logged, so a misconfiguration does not show only as timeouts. A local
    /// input addressed to another node is refused: it must never cross the wire.</summary>
    public void Send(AgentId from, Outgoing message, IActorRef sender)
    {
        Trace?.Invoke(from, message);
        if (Cut?.Invoke(from, message) == true) return;
        if (message.Message is ILocalInput && message.To.Node != from.Node)
        {
            log?.Error("{0}: refusing to send the local input {1} to {2} on another node", from, message.Message, message.To);
            return;
        }
        if (_refs.TryGetValue(message.To, out var target))
        {
            if (HopTrace.Enabled) HopTrace.Message("send", message.Message, from, message.To);
            target.Tell(message.Message is ILocalInput local ? new LocalDelivery(local) : message.Message, sender);
            return;
        }
        if (ImmutableInterlocked.Update(ref _reportedUnknown, s => s.Add(message.To)))
            log?.Warning("{0}: no route to {1} (not running, or its node is not a cluster member yet); dropping messages to it " +
                         "until it is known (logged once)", from, message.To);
    }

    public void SendAll(AgentId from, IReadOnlyList<Outgoing> messages, IActorRef sender)
    {
        for (int i = 0; i < messages.Count; i++) Send(from, messages[i], sender);
    }
}

/// <summary>How a local input (<see cref="ILocalInput"/>) travels between the actors of one node: wrapped in a message
/// that cannot be serialized, so it can never arrive from the wire. An agent's actor takes local inputs only so.</summary>
public sealed record LocalDelivery(ILocalInput Input) : INoSerializationVerificationNeeded;
