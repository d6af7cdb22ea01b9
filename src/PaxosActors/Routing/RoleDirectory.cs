using System.Collections.Immutable;
using Akka.Actor;
using PaxosActors.Core.Protocol;

using Address = PaxosActors.Core.Protocol.Address;
using Envelope = PaxosActors.Core.Protocol.Envelope;

namespace PaxosActors.Routing;

/// <summary>
/// Maps the core's addresses (a role on a node id) to the actors that carry them, as this node
/// currently knows them: local actors at start, remote ones as cluster members are discovered.
/// Every protocol message leaves through <see cref="Send"/>. Shared by one node's actors;
/// lock-free for readers.
/// </summary>
public sealed class RoleDirectory
{
    private ImmutableDictionary<Address, IActorRef> _refs = ImmutableDictionary<Address, IActorRef>.Empty;

    /// <summary>Sees every message as it leaves: the demo prints the protocol with it.</summary>
    public Action<Address, Envelope>? Trace { get; set; }

    public void Register(Address address, IActorRef actor) =>
        ImmutableInterlocked.AddOrUpdate(ref _refs, address, actor, (_, _) => actor);

    /// <summary>Forgets every role of <paramref name="node"/>, e.g. when it leaves the cluster.</summary>
    public void Forget(int node)
    {
        foreach (var key in _refs.Keys.Where(a => a.Node == node))
            ImmutableInterlocked.TryRemove(ref _refs, key, out _);
    }

    public IActorRef? Resolve(Address address) => _refs.TryGetValue(address, out var r) ? r : null;

    /// <summary>Sends <paramref name="envelope"/>; a message to an unknown address is dropped, as a
    /// lossy network would, and the protocol's timeouts deal with it.</summary>
    public void Send(Address from, Envelope envelope, IActorRef sender)
    {
        Trace?.Invoke(from, envelope);
        if (_refs.TryGetValue(envelope.To, out var target)) target.Tell(envelope.Message, sender);
    }

    public void SendAll(Address from, IReadOnlyList<Envelope> envelopes, IActorRef sender)
    {
        for (int i = 0; i < envelopes.Count; i++) Send(from, envelopes[i], sender);
    }
}
