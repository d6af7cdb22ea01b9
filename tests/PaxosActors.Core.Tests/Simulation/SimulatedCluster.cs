// A deterministic simulation of a PaxosActors cluster, driven by one seeded System.Random.
//
// What it models: N nodes, each hosting an Acceptor, a Proposer and a Learner from PaxosActors.Core,
// joined by a network that loses, duplicates, delays and reorders messages between nodes (messages
// between roles on one node are in-process and only delayed). The shell's durability contract is
// modelled exactly: an acceptor's or proposer's events are "persisted" at a random later flush, and a
// reply or message leaves only once every event produced before it is durable. A crash drops the
// not-yet-durable events together with the replies waiting for them; a restart builds a new core
// object and re-applies only the durable events; a proposer crash may also lose its whole journal (a deleted
// or unreadable file), and a proposer that starts with an empty journal, as every one does at first, asks
// the acceptors for their promises before its first Prepare. Learners do not crash. Clients submit unique
// commands to random nodes and, like a real client after a timeout, resubmit a command that no
// learner has applied for a while. After the fault period every fault stops (no loss, no
// duplication, every role up, every event flushed at once) and the cluster must apply every
// command on every learner within a bounded number of steps.
//
// Checked on every step: agreement (no two learners apply different values for a slot, checked at
// apply time), validity (every applied command was submitted), in-order gap-free application.
//
// Replay a failing seed: PAXOS_SIM_SEED=1234 dotnet test tests/PaxosActors.Core.Tests \
//   --filter "FullyQualifiedName~Simulation" --logger "console;verbosity=detailed"
// (the replay also prints the tail of the run's trace).

using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests.Simulation;

/// <summary>The knobs of one simulated run. <see cref="ForSeed"/> derives a varied one from a seed.</summary>
public sealed record SimulationConfig
{
    public int Nodes { get; init; } = 3;
    public bool MultiPaxos { get; init; } = true;
    public int Commands { get; init; } = 4;
    public int FaultSteps { get; init; } = 80;
    public int MaxHealSteps { get; init; } = 600;
    public double LossRate { get; init; }
    public double DuplicateRate { get; init; }
    /// <summary>Delay of a message between nodes, uniform in [MinDelay, MaxDelay] steps (in-process: 1 step).</summary>
    public int MinDelay { get; init; } = 1;
    public int MaxDelay { get; init; } = 3;
    /// <summary>Chance per step that one live acceptor crashes (and that one down acceptor restarts).</summary>
    public double AcceptorCrashRate { get; init; }
    public double ProposerCrashRate { get; init; }
    /// <summary>Chance that a proposer crash also loses the proposer's whole journal (its durable round).</summary>
    public double ProposerJournalLossRate { get; init; }
    /// <summary>False: every proposer's journal starts with the floor <c>RoundReserved(0)</c>, as a fresh cluster's
    /// round discovery leaves it, so the run starts in the steady state (no discovery at first).</summary>
    public bool ProposerJournalsStartEmpty { get; init; } = true;
    /// <summary>Chance per step that a role with unflushed events makes them durable (1 once healed).</summary>
    public double FlushRate { get; init; } = 0.7;
    /// <summary>Steps a client waits for its command to be applied somewhere before resubmitting it.</summary>
    public int ClientRetrySteps { get; init; } = 60;
    /// <summary>A deliberately broken shell, to show the checker has teeth: acceptor replies leave before
    /// their event is durable, so a crash can make an acceptor forget a promise or vote it already sent.</summary>
    public bool UnsafeReplyBeforePersist { get; init; }
    public ProposerOptions Proposer { get; init; } = new();
    public LearnerOptions Learner { get; init; } = new() { CatchUpTicks = 5 };

    public static SimulationConfig ForSeed(int seed)
    {
        var r = new Random(seed ^ 0x5eed);
        bool multi = (seed & 1) == 0;
        int nodes = (seed & 2) == 0 ? 3 : 5;
        return new SimulationConfig
        {
            Nodes = nodes,
            MultiPaxos = multi,
            Commands = 2 + r.Next(4),
            LossRate = r.NextDouble() * 0.3,
            DuplicateRate = r.NextDouble() * 0.15,
            MaxDelay = 1 + r.Next(4),
            AcceptorCrashRate = r.NextDouble() * 0.08,
            ProposerCrashRate = r.NextDouble() * 0.05,
            FlushRate = 0.3 + r.NextDouble() * 0.7,
            Proposer = new ProposerOptions
            {
                MultiPaxos = multi,
                PhaseTimeoutTicks = 10,
                HeartbeatTicks = 3,
                ElectionTimeoutTicks = 10,
                BackoffBaseTicks = 2,
                BackoffCapTicks = 32,
                Window = 1 + r.Next(4),
                MaxBatchCommands = 1 + r.Next(3),
            },
            ProposerJournalLossRate = r.NextDouble() * 0.5,
        };
    }

    public override string ToString() =>
        $"{Nodes} nodes, {(MultiPaxos ? "Multi" : "Basic")}-Paxos, {Commands} commands, loss {LossRate:F2}, dup {DuplicateRate:F2}, " +
        $"delay<={MaxDelay}, acceptor crash {AcceptorCrashRate:F3}, proposer crash {ProposerCrashRate:F3} " +
        $"(journal lost {ProposerJournalLossRate:F2}), flush {FlushRate:F2}";
}

/// <summary>A broken invariant, with the seed that shows it.</summary>
public sealed class SimulationFailure(string message) : Exception(message);

/// <summary>What one run measured.</summary>
public sealed record SimulationResult(int Seed, int StepsToHeal, int DuplicateApplies, int ClientRetries, int Rounds, int Nacks);

/// <summary>N simulated nodes and their network; see the comment at the top of the file.</summary>
public sealed class SimulatedCluster
{
    private readonly SimulationConfig _config;
    private readonly Random _rng;
    private readonly int _seed;
    private readonly QuorumSet _quorum;
    private readonly int[] _ids;
    private readonly AcceptorHost[] _acceptors;
    private readonly ProposerHost[] _proposers;
    private readonly Learner[] _learners;
    private readonly RecordingLog[] _logs;
    private readonly Dictionary<long, SlotValue> _chosen = new();      // the first value any learner applied, per slot
    private readonly PriorityQueue<Envelope, (long At, long Seq)> _network = new();
    private readonly Dictionary<int, (long SubmittedAt, int Node)> _submitted = new();
    private readonly List<string>? _trace;
    private long _now;
    private long _seq;
    private bool _faulty = true;

    public SimulatedCluster(int seed, SimulationConfig config, bool trace = false)
    {
        _seed = seed;
        _config = config;
        _rng = new Random(seed);
        _trace = trace ? new List<string>() : null;
        _ids = Enumerable.Range(1, config.Nodes).ToArray();
        _quorum = new QuorumSet(_ids);
        _acceptors = _ids.Select(id => new AcceptorHost(id)).ToArray();
        _proposers = _ids.Select(id => new ProposerHost(id, NewProposer(id))).ToArray();
        _logs = _ids.Select(id => new RecordingLog(this, id)).ToArray();
        _learners = _ids.Select(id => new Learner(id, _quorum, _ids, config.Learner, _logs[id - 1])).ToArray();
        foreach (var p in _proposers)
        {
            if (!config.ProposerJournalsStartEmpty)
            {
                p.Journal.Add(new RoundReserved(0));
                p.Proposer.Apply(p.Journal[0]);
            }
            Recovered(p);
        }
    }

    public int Rounds { get; private set; }
    public int Nacks { get; private set; }
    public int ClientRetries { get; private set; }
    public IReadOnlyList<string> Trace => _trace ?? (IReadOnlyList<string>)Array.Empty<string>();

    /// <summary>Runs the fault period, heals, and returns once every command is applied everywhere.</summary>
    public SimulationResult Run()
    {
        int nextCommand = 1;
        for (int step = 0; step < _config.FaultSteps; step++)
        {
            // Clients submit their commands spread over the first half of the fault period.
            if (nextCommand <= _config.Commands && _rng.Next(_config.FaultSteps / 2) < _config.Commands)
                Submit(nextCommand++, isRetry: false);
            InjectCrashes();
            Step();
        }
        while (nextCommand <= _config.Commands) Submit(nextCommand++, isRetry: false);

        Heal();
        for (int step = 0; step < _config.MaxHealSteps; step++)
        {
            if (AllAppliedEverywhere())
                return new SimulationResult(_seed, step, _logs.Sum(l => l.Duplicates), ClientRetries, Rounds, Nacks);
            Step();
        }
        var missing = _logs.Select(l => $"learner-{l.Node}: applied {l.Commands.Count}/{_config.Commands}, next slot {_learners[l.Node - 1].NextToApply}");
        throw Fail($"liveness: not every command applied on every learner {_config.MaxHealSteps} steps after healing ({string.Join("; ", missing)})");
    }

    /// <summary>Submits a client command to a node. Exposed for scenario tests.</summary>
    public void Submit(int command, int node)
    {
        _submitted[command] = (_now, node);
        TraceLine($"client submits {command} to proposer-{node}");
        var host = _proposers[node - 1];
        if (!host.Up) return; // the client's request fails; it retries after its timeout
        host.Proposer.Handle(new Propose(TestValues.Cmd(command), 0));
        Drain(host);
    }

    /// <summary>One unit of time: deliver what is due, tick every live role, make some events durable.</summary>
    public void Step()
    {
        _now++;
        while (_network.TryPeek(out _, out var due) && due.At <= _now)
            Deliver(_network.Dequeue());
        foreach (var p in _proposers)
            if (p.Up) { p.Proposer.Tick(); Drain(p); }
        foreach (var l in _learners) { l.Tick(); Drain(l); }
        foreach (var a in _acceptors)
            if (a.Up && (!_faulty || _rng.NextDouble() < _config.FlushRate)) Flush(a);
        foreach (var p in _proposers)
            if (p.Up && (!_faulty || _rng.NextDouble() < _config.FlushRate)) Flush(p);
        ClientRetry();
    }

    /// <summary>Ends every fault: from now on nothing is lost or duplicated and every role is up.</summary>
    public void Heal()
    {
        _faulty = false;
        TraceLine("--- heal ---");
        foreach (var a in _acceptors) if (!a.Up) RestartAcceptor(a);
        foreach (var p in _proposers) if (!p.Up) RestartProposer(p);
    }

    public bool AllAppliedEverywhere() => _logs.All(l => l.Commands.Count == _config.Commands);

    public Learner LearnerOf(int node) => _learners[node - 1];

    public Proposer ProposerOf(int node) => _proposers[node - 1].Proposer;

    public long Now => _now;

    private void Submit(int command, bool isRetry)
    {
        if (isRetry) ClientRetries++;
        Submit(command, _ids[_rng.Next(_ids.Length)]);
    }

    private void ClientRetry()
    {
        foreach (var (command, (at, _)) in _submitted.ToList())
            if (_now - at >= _config.ClientRetrySteps && !_logs.Any(l => l.Commands.Contains(command)))
                Submit(command, isRetry: true);
    }

    private void InjectCrashes()
    {
        if (_rng.NextDouble() < _config.AcceptorCrashRate)
        {
            var a = _acceptors[_rng.Next(_acceptors.Length)];
            if (a.Up) CrashAcceptor(a); else RestartAcceptor(a);
        }
        if (_rng.NextDouble() < _config.ProposerCrashRate)
        {
            var p = _proposers[_rng.Next(_proposers.Length)];
            if (p.Up) CrashProposer(p); else RestartProposer(p);
        }
    }

    private void CrashAcceptor(AcceptorHost a)
    {
        TraceLine($"acceptor-{a.Id} crashes, losing {a.Unflushed.Count(s => s.Event is not null)} unflushed event(s)");
        a.Up = false;
        a.Unflushed.Clear();
    }

    private void RestartAcceptor(AcceptorHost a)
    {
        a.Acceptor = new Acceptor(a.Id);
        foreach (var e in a.Journal) a.Acceptor.Apply(e);
        a.Up = true;
        TraceLine($"acceptor-{a.Id} restarts from {a.Journal.Count} event(s), promised {a.Acceptor.Promised}");
    }

    private void CrashProposer(ProposerHost p)
    {
        bool loseJournal = _rng.NextDouble() < _config.ProposerJournalLossRate;
        TraceLine($"proposer-{p.Id} crashes, losing {p.UnflushedEvents.Count} unflushed event(s)" +
                  (loseJournal ? $" and its whole journal of {p.Journal.Count}" : ""));
        if (loseJournal) p.Journal.Clear();
        p.Up = false;
        p.UnflushedEvents.Clear();
        p.Held.Clear();
    }

    private void RestartProposer(ProposerHost p)
    {
        p.Proposer = NewProposer(p.Id);
        foreach (var e in p.Journal) p.Proposer.Apply(e);
        p.Up = true;
        TraceLine($"proposer-{p.Id} restarts with MaxRound {p.Proposer.MaxRound}");
        Recovered(p);
    }

    private void Recovered(ProposerHost p)
    {
        p.Proposer.Recovered(journalEmpty: p.Journal.Count == 0);
        Drain(p);
    }

    private Proposer NewProposer(int id) => new(id, _quorum, _ids, _config.Proposer, new Random(_rng.Next()));

    private void Deliver(Envelope env)
    {
        var msg = env.Message;
        TraceLine($"deliver to {env.To}: {Describe(msg)}");
        int i = env.To.Node - 1;
        switch (env.To.Role)
        {
            case Role.Acceptor:
            {
                var a = _acceptors[i];
                if (!a.Up) return;
                var step = CoreHandlers.Deliver(a.Acceptor, msg);
                if (step.Reply is { Message: Nack }) Nacks++;
                if (_config.UnsafeReplyBeforePersist)
                {
                    if (step.Reply is { } early) Send(env.To.Node, early);
                    if (step.Event is not null) a.Unflushed.Add(step with { Reply = null });
                }
                else if (step.Event is null && a.Unflushed.Count == 0)
                {
                    if (step.Reply is { } reply) Send(env.To.Node, reply);
                }
                else a.Unflushed.Add(step);
                return;
            }
            case Role.Proposer:
            {
                var p = _proposers[i];
                if (!p.Up) return;
                CoreHandlers.Deliver(p.Proposer, msg);
                Drain(p);
                return;
            }
            case Role.Learner:
            {
                var l = _learners[i];
                CoreHandlers.Deliver(l, msg);
                Drain(l);
                return;
            }
        }
    }

    private void Drain(ProposerHost p)
    {
        var ready = p.Proposer.TakeReady();
        Rounds += ready.Messages.Count(m => m.Message is Prepare && m.To.Node == _ids[0]);
        p.UnflushedEvents.AddRange(ready.Events);
        if (p.UnflushedEvents.Count == 0 && p.Held.Count == 0)
            foreach (var m in ready.Messages) Send(p.Id, m);
        else
            p.Held.AddRange(ready.Messages); // may reveal a round that is not durable yet
        if (!_faulty) Flush(p);
    }

    private void Drain(Learner l)
    {
        // Learned events cache what a quorum of acceptors already holds, so no message waits for them.
        foreach (var m in l.TakeReady().Messages) Send(l.Id, m);
    }

    private void Flush(AcceptorHost a)
    {
        foreach (var step in a.Unflushed)
        {
            if (step.Event is { } e) a.Journal.Add(e);
            if (step.Reply is { } reply) Send(a.Id, reply);
        }
        a.Unflushed.Clear();
    }

    private void Flush(ProposerHost p)
    {
        p.Journal.AddRange(p.UnflushedEvents);
        p.UnflushedEvents.Clear();
        foreach (var m in p.Held) Send(p.Id, m);
        p.Held.Clear();
    }

    private void Send(int from, Envelope env)
    {
        bool local = env.To.Node == from;
        if (!local && _faulty && _rng.NextDouble() < _config.LossRate)
        {
            TraceLine($"lost to {env.To}: {Describe(env.Message)}");
            return;
        }
        Enqueue(env, local ? 1 : _config.MinDelay + _rng.Next(_config.MaxDelay - _config.MinDelay + 1));
        if (!local && _faulty && _rng.NextDouble() < _config.DuplicateRate)
            Enqueue(env, 1 + _rng.Next(_config.MaxDelay * 2));
    }

    private void Enqueue(Envelope env, int delay) => _network.Enqueue(env, (_now + delay, _seq++));

    private void OnApply(int node, long slot, SlotValue value, RecordingLog log)
    {
        TraceLine($"learner-{node} applies slot {slot} = {DescribeValue(value)}");
        if (slot != log.NextSlot)
            throw Fail($"learner-{node} applied slot {slot} when slot {log.NextSlot} was next");
        log.NextSlot++;
        if (_chosen.TryGetValue(slot, out var earlier))
        {
            if (!earlier.Equals(value))
                throw Fail($"agreement: slot {slot} applied as {DescribeValue(earlier)} elsewhere but as {DescribeValue(value)} on learner-{node}");
        }
        else _chosen[slot] = value;
        foreach (var c in value.Commands)
        {
            int command = TestValues.AsInt(c);
            if (!_submitted.ContainsKey(command))
                throw Fail($"validity: learner-{node} applied command {command} at slot {slot}, which no client submitted");
            if (!log.Commands.Add(command)) log.Duplicates++;
        }
    }

    private SimulationFailure Fail(string what)
    {
        TraceLine("FAIL " + what);
        return new SimulationFailure($"seed {_seed} ({_config}) at step {_now}: {what}. Replay with PAXOS_SIM_SEED={_seed}");
    }

    private void TraceLine(string line) => _trace?.Add($"[{_now}] {line}");

    private static string DescribeValue(SlotValue v) =>
        v.IsNoOp ? "no-op" : "[" + string.Join(",", v.Commands.Select(TestValues.AsInt)) + "]";

    private static string Describe(IPaxosMessage m) => m switch
    {
        Accept a => $"Accept({a.Ballot}, slot {a.Slot}, {DescribeValue(a.Value)})",
        Chosen c => $"Chosen(slot {c.Slot}, {DescribeValue(c.Value)})",
        Propose p => $"Propose({DescribeValue(p.Commands)}, hops {p.Hops})",
        Promise p => $"Promise({p.Ballot}, from {p.Acceptor}, entries {string.Join(" ", p.Entries.Select(e => $"{e.Slot}@{e.Ballot}={DescribeValue(e.Value)}"))})",
        ChosenRange r => $"ChosenRange(from {r.FromSlot}, {string.Join(" ", r.Values.Select(DescribeValue))})",
        _ => m.ToString() ?? "?",
    };

    private sealed class AcceptorHost(int id)
    {
        public int Id { get; } = id;
        public Acceptor Acceptor { get; set; } = new(id);
        public bool Up { get; set; } = true;
        public List<IAcceptorEvent> Journal { get; } = new();
        /// <summary>Steps whose event is not durable yet, or whose reply waits behind one that is not.</summary>
        public List<AcceptorStep> Unflushed { get; } = new();
    }

    private sealed class ProposerHost(int id, Proposer proposer)
    {
        public int Id { get; } = id;
        public Proposer Proposer { get; set; } = proposer;
        public bool Up { get; set; } = true;
        public List<RoundReserved> Journal { get; } = new();
        public List<RoundReserved> UnflushedEvents { get; } = new();
        public List<Envelope> Held { get; } = new();
    }

    /// <summary>The state machine each learner drives: records, and checks the invariants at apply time.</summary>
    private sealed class RecordingLog(SimulatedCluster cluster, int node) : IStateMachine
    {
        public int Node { get; } = node;
        public long NextSlot { get; set; }
        public HashSet<int> Commands { get; } = new();
        public int Duplicates { get; set; }

        public void Apply(long slot, SlotValue value) => cluster.OnApply(Node, slot, value, this);
    }
}
