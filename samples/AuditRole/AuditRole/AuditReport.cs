using Akka.Configuration;

namespace Samples.Audit;

/// <summary><c>GET /roles/audit</c>: the replicated counts (<c>counts</c>, <c>total</c>, as of <c>applied_slot</c>, which is
/// this node's: it is read locally, not through the log), what this node incarnation's applied stream delivered
/// (<c>seen</c>), and its last commands (<c>recent</c>).</summary>
public sealed record AuditReport(int Node, long AppliedSlot, long Total, IReadOnlyDictionary<string, long> Counts, AuditSeen Seen,
    IReadOnlyList<AuditEntry> Recent)
{
    public static AuditReport Of(int node, AuditView view)
    {
        var counts = view.Current;
        var seen = view.Seen;
        return new AuditReport(node, counts.AppliedSlot, counts.Total, counts.ByStateMachine,
            new AuditSeen(seen.Live, seen.Replayed, seen.Installed), seen.Recent.ToList());
    }
}

/// <summary>Commands the applied stream delivered live and replayed, and whole states installed, in this incarnation.</summary>
public sealed record AuditSeen(long Live, long Replayed, long Installed);

/// <summary>The audit role's settings (<c>paxos.audit</c>; defaults in this assembly's reference.conf).</summary>
public static class AuditSettings
{
    /// <summary><c>paxos.audit.recent</c>: how many of the last commands the route lists.</summary>
    public static int Recent(Config config)
    {
        if (!config.HasPath("paxos.audit.recent")) throw new ConfigurationException("paxos.audit.recent: missing (the role's reference.conf was not merged?)");
        int recent = config.GetInt("paxos.audit.recent");
        if (recent is < 0 or > 10_000) throw new ConfigurationException($"paxos.audit.recent: {recent} is not between 0 and 10000");
        return recent;
    }
}
