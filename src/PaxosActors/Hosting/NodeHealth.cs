namespace PaxosActors.Hosting;

/// <summary>What a node's roles report about themselves for <c>/status</c>: above all whether the acceptor
/// votes, and if not, why. Written by actors, read by the HTTP front end.</summary>
public sealed class NodeHealth
{
    private volatile string _acceptor = "starting";
    private volatile bool _acceptorVotes;

    public string Acceptor => _acceptor;
    public bool AcceptorVotes => _acceptorVotes;

    public void SetAcceptor(bool votes, string state)
    {
        _acceptorVotes = votes;
        _acceptor = state;
    }
}
