using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Proposers;

/// <summary>How a proposer runs: which Paxos, how big a batch, how many slots in flight, and its
/// timeouts in logical ticks (the shell turns configured durations into ticks).</summary>
public sealed record ProposerOptions
{
    /// <summary>Multi-Paxos keeps a leader's ballot across slots; Basic Paxos runs both phases for every slot.</summary>
    public bool MultiPaxos { get; init; } = true;

    /// <summary>Most client commands in one slot value.</summary>
    public int MaxBatchCommands { get; init; } = 512;

    /// <summary>Most payload bytes in one slot value (one command may exceed it alone).</summary>
    public int MaxBatchBytes { get; init; } = 1 << 20;

    /// <summary>Ticks a batch that is not full may wait for more commands (0: propose at once; batches
    /// still form while the window is full).</summary>
    public int BatchDelayTicks { get; init; }

    /// <summary>A follower buffers commands for the leader until the shell steps it with <see cref="Protocol.Flush"/>, so the
    /// shell can send everything that arrived in one burst as one message.</summary>
    public bool BufferForwards { get; init; }

    /// <summary>Slots between a reconfiguration and the first slot it governs; the same on every node
    /// (<see cref="MembershipHistory.DefaultAlpha"/>; only tests change it).</summary>
    public int ReconfigurationAlpha { get; init; } = MembershipHistory.DefaultAlpha;

    /// <summary>Ticks a read may wait for its read point before the proposer forgets it (the client asks again).</summary>
    public int ReadTimeoutTicks { get; init; } = 500;

    /// <summary>UNSAFE, the negative control of the simulation only: a leader answers reads with its read point without the
    /// confirmation round, so a deposed leader cut off from the others answers with a stale state. Never set outside it.</summary>
    public bool UnsafeReadsWithoutConfirmation { get; init; }

    /// <summary>UNSAFE, the negative control of the simulation only: a leader hands out a confirmed read point without checking
    /// that every membership governing a slot from the point on was confirmed (a change it learnt after the round).</summary>
    public bool UnsafeReadsSkipMembershipCheck { get; init; }

    /// <summary>A proposer drops a queued change whose expected epoch is no longer the latest it knows of: chosen, it could
    /// change nothing (<see cref="Reconfiguration"/>). On by default; it only spares slots and rounds. The learners' rule
    /// is what keeps such a copy from taking effect, and the simulation's negative controls of it turn this off so that
    /// copies are chosen often enough to reach the races they check.</summary>
    public bool DropSupersededChanges { get; init; } = true;

    /// <summary>Most slots a leader keeps in Phase 2 at once.</summary>
    public int Window { get; init; } = 4;

    /// <summary>Ticks without an answer before a phase is retried.</summary>
    public int PhaseTimeoutTicks { get; init; } = 20;

    /// <summary>Ticks between a leader's heartbeats.</summary>
    public int HeartbeatTicks { get; init; } = 5;

    /// <summary>Ticks without a heartbeat before a follower stands for election (plus a random backoff).</summary>
    public int ElectionTimeoutTicks { get; init; } = 30;

    /// <summary>Binary exponential backoff: the first retry waits up to this many ticks...</summary>
    public int BackoffBaseTicks { get; init; } = 2;

    /// <summary>...each further retry doubles it, up to this cap...</summary>
    public int BackoffCapTicks { get; init; } = 64;

    /// <summary>...and this fraction of the wait is drawn at random (1 = uniform in [0, wait]).
    /// Zero base means no backoff at all: a Nacked proposer retries at once.</summary>
    public double BackoffJitter { get; init; } = 1.0;
}
