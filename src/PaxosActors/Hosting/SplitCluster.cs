using Akka.Actor;

namespace PaxosActors.Hosting;

/// <summary>
/// Akka clusters never merge. A first seed that restarts while the other seeds still gate its address (a pause, a
/// partition, an old incarnation) founds a cluster of its own, and nodes that restart at that moment may join it: the
/// nodes then form two clusters for good, say {1, 4} and {2, 3}. Paxos routes by cluster membership, so with acceptors
/// [1, 3] no quorum is ever reachable again although every process runs (a 30-minute chaos run with membership changes
/// ended so). This is the pure rule that ends such a split, beside <see cref="NodeRunner"/>, which applies it; like the
/// split brain resolver's <c>Decide</c>, it sees a snapshot and returns a verdict.
/// <para>
/// The rule: a node whose cluster holds fewer than a majority of the seed nodes, while a seed outside its cluster answers
/// (so that seed runs, in another cluster or none), leaves its cluster, restarts its ActorSystem and joins the seeds
/// again. At most one side of a split can hold a majority of the seeds, and that side never leaves; a node of a minority
/// side that cannot reach any other seed stays (rejoining could not help it). A minority that sees another minority
/// (a seed down, the others split) may leave on both sides; the restarted nodes then join whichever cluster exists by
/// the seed-node process, and the caller's jitter keeps the two from leaving in step. The price: when most seeds
/// restart at once and are not welcomed back within the hold, the nodes that stayed leave too and the cluster forms
/// again from the seeds (seconds without service; Paxos safety never depends on cluster membership).
/// </para>
/// </summary>
public static class SplitCluster
{
    /// <summary>Whether this node should leave its cluster to join the seeds' again, and why (null: stay).</summary>
    /// <param name="seeds">The configured seed nodes (<c>akka.cluster.seed-nodes</c>).</param>
    /// <param name="members">The addresses of this node's cluster, itself included, that are not down or removed.</param>
    /// <param name="answering">The seeds outside this cluster that answered a question just now.</param>
    public static string? Decide(IReadOnlyCollection<Address> seeds, IReadOnlyCollection<Address> members, IReadOnlyCollection<Address> answering)
    {
        if (seeds.Count == 0) return null;
        int inCluster = seeds.Count(members.Contains);
        if (inCluster > seeds.Count / 2) return null;
        var others = answering.Where(a => seeds.Contains(a) && !members.Contains(a)).ToList();
        if (others.Count == 0) return null;
        string them = others.Count == 1 ? $"seed {others[0]} runs" : $"seeds {string.Join(", ", others)} run";
        return $"this node's cluster holds {inCluster} of the {seeds.Count} seed nodes, and {them} outside it (two clusters that never merge)";
    }

    /// <summary>The seeds that are not members of this node's cluster: the ones to ask.</summary>
    public static IEnumerable<Address> Outside(IReadOnlyCollection<Address> seeds, IReadOnlyCollection<Address> members) =>
        seeds.Where(s => !members.Contains(s));
}
