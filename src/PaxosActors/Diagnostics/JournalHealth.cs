using System.Data.Common;
using Akka.Actor;

namespace PaxosActors.Diagnostics;

/// <summary>Why a node's journal refuses writes, and since when (UTC): the last failure's writer and error.</summary>
public sealed record JournalFailure(string Writer, string Error, DateTime Since)
{
    public override string ToString() => $"{Error} (failing since {Since:yyyy-MM-ddTHH:mm:ssZ}; last seen by the {Writer})";
}

/// <summary>
/// Whether the node's journal accepts writes, as its writers last saw it: every Paxos agent reports each failed write
/// (Akka.Persistence's persist failure, whatever the journal plugin) and clears it with the next durable one, and the
/// journal probe (<see cref="JournalProbe"/>) writes a tiny event every few seconds, so that a journal that fails
/// shows even while nothing else writes, and one that recovers clears by itself. One per ActorSystem (an Akka
/// extension). Read by <c>/status</c>, <c>/health/ready</c>, the metrics, and the HTTP API, which refuses a command at
/// once, with this reason, while the journal fails.
/// </summary>
public sealed class JournalHealth : IExtension
{
    private volatile JournalFailure? _failure;

    /// <summary>Why the journal refuses writes, or null while its last write succeeded.</summary>
    public JournalFailure? Failure => _failure;

    public bool AcceptsWrites => _failure is null;

    /// <summary>A write by <paramref name="writer"/> failed with <paramref name="cause"/>.</summary>
    public void Failed(string writer, Exception cause)
    {
        var since = _failure?.Since ?? DateTime.UtcNow;
        _failure = new JournalFailure(writer, Describe(cause), since);
    }

    /// <summary>A write became durable. On the hot path: one volatile read while the journal is healthy.</summary>
    public void Succeeded()
    {
        if (_failure is not null) _failure = null;
    }

    /// <summary>What the journal said, without the wrappers Akka.Persistence and the tasks put around it.</summary>
    public static string Describe(Exception cause)
    {
        var e = cause;
        while (e is AggregateException { InnerException: { } inner }) e = inner;
        return e is DbException ? e.Message.TrimEnd('.') : $"{e.GetType().Name}: {e.Message.TrimEnd('.')}";
    }

    /// <summary>The journal health of <paramref name="system"/>'s node.</summary>
    public static JournalHealth Get(ActorSystem system) => system.WithExtension<JournalHealth, JournalHealthProvider>();
}

/// <summary>Makes one <see cref="JournalHealth"/> per ActorSystem.</summary>
public sealed class JournalHealthProvider : ExtensionIdProvider<JournalHealth>
{
    public override JournalHealth CreateExtension(ExtendedActorSystem system) => new();
}
