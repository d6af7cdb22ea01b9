namespace PaxosActors.Core.Protocol;

/// <summary>The three Paxos roles; every node can host one of each.</summary>
public enum Role { Proposer, Acceptor, Learner }

/// <summary>Where a message goes: a role on a node, named by the node's configured id. The shell
/// maps it to an actor; the core never holds an actor reference.</summary>
public readonly record struct Address(Role Role, int Node)
{
    public static Address Proposer(int node) => new(Role.Proposer, node);
    public static Address Acceptor(int node) => new(Role.Acceptor, node);
    public static Address Learner(int node) => new(Role.Learner, node);

    public override string ToString() => $"{Role.ToString().ToLowerInvariant()}-{Node}";
}

/// <summary>A message the core wants sent, and to whom.</summary>
public readonly record struct Envelope(Address To, IPaxosMessage Message);
