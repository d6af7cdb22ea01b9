using PaxosActors.Actors;

namespace PaxosActors.Hosting;

/// <summary>One readiness rule's answer: whether it holds, and what the node knows about it (why not, when not).</summary>
public readonly record struct Readiness(bool Ready, string Reason);

/// <summary>
/// When a node is ready (README, "Metrics and health"): its acceptor votes, its journal accepts writes, and its learner
/// is within <c>paxos.health.max-learner-lag</c> slots of what it knows is chosen. Each rule is judged alone, so the
/// answer names every reason at once. Pure: the HTTP front end turns them into ASP.NET Core health checks.
/// </summary>
public static class NodeReadiness
{
    /// <summary>Ready while this node's acceptor votes; not while it is starting, waiting for the others, refusing (a lost
    /// or unreadable journal) or unable to write its votes. A node that runs no acceptor, and one removed from the acceptor
    /// set (it votes where its vote still counts), is ready.</summary>
    public static Readiness Acceptor(bool runsAcceptor, NodeHealth health) =>
        !runsAcceptor ? new(true, "this node runs no acceptor") : new(health.AcceptorVotes, health.Acceptor);

    /// <summary>Ready while the node has its journal file and the journal's last write (an agent's or the probe's)
    /// succeeded.</summary>
    public static Readiness Journal(string? unreadable, NodeHealth health)
    {
        if (unreadable is not null) return new(false, $"the node runs without its journal file: {unreadable}");
        if (health.Journal?.Failure is { } failure) return new(false, $"the journal refuses writes: {failure}");
        return new(true, "the journal accepts writes");
    }

    /// <summary>Ready while the learner has applied the log to within <paramref name="maxLag"/> slots of the highest slot
    /// it knows is chosen (from the votes it counted or the leader's heartbeat). <paramref name="status"/> is null when
    /// the learner did not answer in time (it is starting or restarting).</summary>
    public static Readiness Learner(bool runsLearner, LearnerStatus? status, int maxLag)
    {
        if (!runsLearner) return new(true, "this node runs no learner");
        if (status is null) return new(false, "the learner did not answer (starting or restarting)");
        long lag = status.Lag;
        string where = $"applied through slot {status.NextToApply - 1}, {lag} slot(s) behind what it knows is chosen";
        return lag <= maxLag ? new(true, where) : new(false, $"{where}: over paxos.health.max-learner-lag ({maxLag})");
    }
}
