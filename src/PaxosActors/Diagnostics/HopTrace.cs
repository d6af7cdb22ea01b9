using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Diagnostics;

/// <summary>One point a request passed: when (<see cref="Stopwatch"/> ticks: CLOCK_MONOTONIC on Linux, so the ticks of
/// the processes of one machine compare), on which managed thread, on which node (0: not known where it was taken), which
/// point, and its key (a slot for protocol messages, a command's sequence number for the KV client, 0 for none) and one
/// more number (<see cref="Extra"/>: a peer node, a count, a slot, depending on the point).</summary>
public readonly record struct Hop(long Ticks, int Thread, int Node, string Name, long Key, long Extra);

/// <summary>
/// The per-hop trace of a request (<c>paxos.diagnostics.trace-hops</c>, off by default): each point a command passes on
/// its way from the HTTP handler through the proposer, the acceptors' journals and the learners back to the HTTP reply
/// records a <see cref="Hop"/>: a timestamp and the managed thread id. <c>bench/hop-trace.sh</c> reads it to count the
/// thread hand-offs of the 1-worker path (BENCHMARKS.md, "The 1-worker path, hop by hop").
/// <para>
/// Off, a point costs one read of a static field and a branch not taken. On, a point is one interlocked increment and a
/// store into a fixed array (<see cref="Capacity"/> hops; later ones are dropped and counted). Process-wide: a process
/// usually runs one node, and in a test that runs several the agents' hops carry their node id.
/// </para>
/// </summary>
public static class HopTrace
{
    public const int Capacity = 1 << 20;

    // Not readonly: the setting is read when a node starts, after this type is initialised. Once on it stays on.
    private static bool _enabled;
    private static Hop[] _hops = [];
    private static int _next;
    private static long _dropped;
    private static readonly Lock Gate = new();

    public static bool Enabled => _enabled;

    /// <summary>PAXOS_TRACE_HOPS is on, true or 1: the trace is on whatever the configuration says.</summary>
    public static bool OnInEnvironment =>
        Environment.GetEnvironmentVariable("PAXOS_TRACE_HOPS")?.Trim().ToLowerInvariant() is "on" or "true" or "1" or "yes";

    /// <summary>Starts recording (idempotent; a node does it when its configuration turns the trace on).</summary>
    public static void Enable()
    {
        lock (Gate)
        {
            if (_hops.Length == 0) _hops = new Hop[Capacity];
            _enabled = true;
        }
    }

    /// <summary>Stops recording and forgets what was recorded (tests).</summary>
    public static void Disable()
    {
        lock (Gate)
        {
            _enabled = false;
            _hops = [];
            _next = 0;
            _dropped = 0;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Mark(string name, long key = 0, int node = 0, long extra = 0)
    {
        if (!_enabled) return;
        Record(name, key, node, extra);
    }

    /// <summary>A protocol message's point at agent <paramref name="self"/>, keyed by its slot (messages without one are
    /// not traced). Named "{agent} {verb} {message}", and "&gt;{agent}" for a message sent to <paramref name="peer"/>,
    /// whose node is then the extra number (else <paramref name="extra"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Message(string verb, object message, AgentId self, AgentId? peer = null, long extra = 0)
    {
        if (!_enabled) return;
        if (SlotOf(message) is not { } slot) return;
        string name = $"{RoleOf(self.Agent)} {verb} {message.GetType().Name}";
        if (peer is { } to) name += ">" + RoleOf(to.Agent);
        Record(name, slot, self.Node, peer?.Node ?? extra);
    }

    private static string RoleOf(Agent agent) => agent switch
    {
        Agent.Acceptor => "acceptor",
        Agent.Proposer => "proposer",
        _ => "learner",
    };

    /// <summary>The slot of a message on the write path; a Propose is keyed 0 (it has no slot yet); others: null.</summary>
    public static long? SlotOf(object message) => message switch
    {
        Accept a => a.Slot,
        Accepted a => a.Slot,
        Chosen c => c.Slot,
        Propose => 0,
        _ => null,
    };

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Record(string name, long key, int node, long extra)
    {
        var hops = _hops;
        int i = Interlocked.Increment(ref _next) - 1;
        if ((uint)i >= (uint)hops.Length)
        {
            Interlocked.Increment(ref _dropped);
            return;
        }
        hops[i] = new Hop(Stopwatch.GetTimestamp(), Environment.CurrentManagedThreadId, node, name, key, extra);
    }

    /// <summary>What was recorded so far, in the order it was recorded (a hop being written at this moment may be missing).</summary>
    public static IReadOnlyList<Hop> Snapshot()
    {
        var hops = _hops;
        int n = Math.Min(Volatile.Read(ref _next), hops.Length);
        var copy = new List<Hop>(n);
        for (int i = 0; i < n; i++)
            if (hops[i].Name is not null) copy.Add(hops[i]);
        return copy;
    }

    /// <summary>Forgets what was recorded (the trace stays on or off).</summary>
    public static void Clear()
    {
        lock (Gate)
        {
            if (_hops.Length > 0) _hops = new Hop[Capacity];
            Volatile.Write(ref _next, 0);
            _dropped = 0;
        }
    }

    /// <summary>The text dump: a header line (<c># frequency F dropped D</c>), then one line per hop:
    /// <c>ticks thread node name key extra</c>, the name with its spaces as '_'.</summary>
    public static string Dump()
    {
        var text = new StringBuilder();
        text.Append("# frequency ").Append(Stopwatch.Frequency).Append(" dropped ").Append(Interlocked.Read(ref _dropped)).Append('\n');
        foreach (var h in Snapshot())
            text.Append(h.Ticks).Append(' ').Append(h.Thread).Append(' ').Append(h.Node).Append(' ')
                .Append(h.Name.Replace(' ', '_')).Append(' ').Append(h.Key).Append(' ').Append(h.Extra).Append('\n');
        return text.ToString();
    }
}
