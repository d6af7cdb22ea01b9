using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using PaxosActors.Configuration;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Replication;

/// <summary>No quorum applied the command in time: whether it took effect is unknown (it may still, exactly once).</summary>
public sealed class CommandTimeoutException(string message) : Exception(message);

/// <summary>
/// This node's client of the replicated log for the roles' own commands (<see cref="Hosting.NodeContext.Commands"/>):
/// frames a command with its state machine's name, this node incarnation's session id and the next sequence number,
/// hands it to the local proposer, and completes when the local learner applied it, with the state machine's result. A
/// command not applied within <c>paxos.commands.retry-interval</c> is proposed again with the same id; the learner
/// applies it once however many copies reach the log, and answers every copy with the stored result
/// (<see cref="SessionTable{TResult}"/>). Thread-safe.
/// </summary>
public sealed class CommandClient
{
    private readonly CommandSettings _settings;
    private readonly ConcurrentDictionary<long, TaskCompletionSource<ReadOnlyMemory<byte>>> _waiting = new();
    private readonly SortedSet<long> _outstanding = new();
    private readonly Lock _lock = new();
    private long _nextSeq;
    private IActorRef? _proposer;

    /// <param name="session">The session id; a fresh random one by default. A session's sequence numbers are not
    /// remembered across incarnations, so each node incarnation needs a new one.</param>
    public CommandClient(CommandSettings settings, ulong? session = null)
    {
        _settings = settings;
        Session = session ?? BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>This client's session id in the replicated state.</summary>
    public ulong Session { get; }

    public CommandSettings Settings => _settings;

    /// <summary>The node's proposer, once started (null on a node without one).</summary>
    internal void Attach(IActorRef? proposer) => _proposer = proposer;

    /// <summary>
    /// Proposes <paramref name="payload"/> for the state machine <paramref name="stateMachine"/> and returns its result
    /// once this node's learner applied it. The state machine applies it exactly once, whatever the retries.
    /// </summary>
    /// <exception cref="CommandTimeoutException">Not applied within <c>paxos.commands.request-timeout</c>: it may still be.</exception>
    /// <exception cref="InvalidOperationException">This node runs no proposer.</exception>
    public async Task<ReadOnlyMemory<byte>> SubmitAsync(string stateMachine, ReadOnlyMemory<byte> payload, CancellationToken ct = default)
    {
        CommandFrame.ValidateName(stateMachine, nameof(stateMachine));
        var proposer = _proposer ?? throw new InvalidOperationException("this node runs no proposer: a role that submits commands needs the proposer and learner roles on its node");
        long seq;
        lock (_lock)
        {
            seq = ++_nextSeq;
            _outstanding.Add(seq);
        }
        var done = new TaskCompletionSource<ReadOnlyMemory<byte>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[seq] = done;
        var id = new ClientCommandId(Session, seq);
        try
        {
            var deadline = DateTime.UtcNow + _settings.RequestTimeout;
            while (true)
            {
                var framed = CommandFrame.Encode(stateMachine, payload.Span, id, AckedBelow());
                proposer.Tell(new Propose(new SlotValue([framed]), 0));
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero) break;
                try
                {
                    return await done.Task.WaitAsync(remaining < _settings.RetryInterval ? remaining : _settings.RetryInterval, ct);
                }
                catch (TimeoutException)
                {
                    // not applied yet: propose the same command again (the learner applies it once)
                }
            }
            throw new CommandTimeoutException(
                $"no quorum applied the command for '{stateMachine}' within {_settings.RequestTimeout.TotalSeconds:0.###} s; it may still take effect");
        }
        finally
        {
            _waiting.TryRemove(seq, out _);
            lock (_lock) _outstanding.Remove(seq);
        }
    }

    /// <summary>Every seq below the lowest one still in flight is answered or given up: it is never retried.</summary>
    private long AckedBelow()
    {
        lock (_lock) return _outstanding.Count == 0 ? _nextSeq : _outstanding.Min;
    }

    /// <summary>The learner applied (or answered a retry of) a command of this session.</summary>
    internal void Completed(long seq, ReadOnlyMemory<byte> result)
    {
        if (_waiting.TryRemove(seq, out var done)) done.TrySetResult(result);
    }
}
