using System.Data.Common;
using Akka.Actor;

namespace PaxosActors.Diagnostics;

/// <summary>Why a node's journal refuses writes: the latest failure's writer and error, when the journal started failing
/// and when it last failed (UTC).</summary>
public sealed record JournalFailure(string Writer, string Error, DateTime Since, DateTime LastAt)
{
    public override string ToString() => $"{Error} (failing since {Since:yyyy-MM-ddTHH:mm:ssZ}; last seen by the {Writer})";
}

/// <summary>
/// Whether the node's journal accepts writes, as its writers last saw it. Every Paxos agent reports each failed write
/// (Akka.Persistence's persist failure, whatever the journal plugin), and the journal probe (<see cref="JournalProbe"/>)
/// writes a tiny event every few seconds, so that a journal that fails shows even while nothing else writes.
/// <para>
/// The latest failure stands until the writer that saw it writes successfully, or until the probe writes successfully
/// with no failure for a quiet period (two probe intervals). Not at the probe's first success: a nearly full disk takes
/// the probe's few bytes and still refuses an acceptor's batch, and the health would flap with every probe. Not only at
/// the failed writer's own success either: a node that refuses commands while its journal fails might never make its
/// acceptor write again.
/// </para>
/// One per ActorSystem (an Akka extension). Read by <c>/status</c>, <c>/health/ready</c>, the metrics, and the HTTP
/// API, which refuses a command at once, with this reason, while the journal fails.
/// </summary>
public sealed class JournalHealth : IExtension
{
    private volatile JournalFailure? _failure;

    /// <summary>Why the journal refuses writes, or null while its last write succeeded.</summary>
    public JournalFailure? Failure => _failure;

    public bool AcceptsWrites => _failure is null;

    /// <summary>The probe's name as a writer.</summary>
    public const string Probe = "probe";

    /// <summary>A write by <paramref name="writer"/> failed with <paramref name="cause"/>.</summary>
    public void Failed(string writer, Exception cause)
    {
        var now = DateTime.UtcNow;
        _failure = new JournalFailure(writer, Describe(cause), _failure?.Since ?? now, now);
    }

    /// <summary>A write by <paramref name="writer"/> became durable. On the hot path: one volatile read while the journal
    /// is healthy.</summary>
    public void Succeeded(string writer)
    {
        if (_failure is { } failure && failure.Writer == writer) _failure = null;
    }

    /// <summary>The probe's write became durable: the journal accepts writes again if nothing failed for <paramref name="quiet"/>.</summary>
    public void ProbeSucceeded(TimeSpan quiet)
    {
        if (_failure is { } failure && (failure.Writer == Probe || DateTime.UtcNow - failure.LastAt >= quiet)) _failure = null;
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
