using PaxosActors.Diagnostics;

namespace PaxosActors.Hosting;

/// <summary>What a node's roles report about themselves for <c>/status</c> and <c>/health/ready</c>: above all whether the
/// acceptor votes, and if not, why. Written by actors, read by the HTTP front end. An acceptor whose journal refuses writes
/// (<see cref="JournalHealth"/>) does not vote, whatever its own state says: every vote must be durable first.</summary>
public sealed class NodeHealth(JournalHealth? journal = null)
{
    private volatile string _acceptor = "starting";
    private volatile bool _acceptorVotes;

    /// <summary>Whether the node's journal accepts writes, as its writers last saw it (null: not tracked).</summary>
    public JournalHealth? Journal => journal;

    public string Acceptor => _acceptorVotes && journal?.Failure is { } failure
        ? $"failing: its journal refuses writes: {failure}; it votes again once a write succeeds"
        : _acceptor;

    public bool AcceptorVotes => _acceptorVotes && journal?.AcceptsWrites != false;

    public void SetAcceptor(bool votes, string state)
    {
        _acceptorVotes = votes;
        _acceptor = state;
    }
}
