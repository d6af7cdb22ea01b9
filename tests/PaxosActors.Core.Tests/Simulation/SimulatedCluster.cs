// A deterministic simulation of a PaxosActors cluster, driven by one seeded System.Random.
//
// What it models: N nodes, each hosting an Acceptor, a Proposer and a Learner from PaxosActors.Core, driven
// exactly as the actors drive them: IAgent.Recover for the journal, Step(Recovered), then Step(input) for every
// message and tick, with each Ready carried out as the Ready contract says and messages released by the same
// Outbox the actors use. The network loses, duplicates, delays and reorders messages between nodes (messages
// between agents on one node are in-process and only delayed). Journal writes become durable at a random later
// flush. A crash drops the not-yet-durable events together with the messages waiting for them; a restart builds
// a new agent and recovers only what is durable; a proposer crash may also lose its whole journal (a deleted or
// unreadable file), and a proposer that starts with an empty journal, as every one does at first, asks the
// acceptors for their promises before its first Prepare. Learners crash only if LearnerCrashRate says so; a
// restarted learner starts a fresh state machine from its snapshot and journal. Clients submit unique commands
// to random nodes and, like a real client after a timeout, resubmit a command that no learner has applied for a
// while. After the fault period every fault stops (no loss, no duplication, every agent up, every event flushed
// at once) and the cluster must apply every command on every learner within a bounded number of steps.
//
// Checked on every step: agreement (no two learners apply different values for a slot, checked at
// apply time), validity (every applied command was submitted), in-order gap-free application.
//
// Replay a failing seed: PAXOS_SIM_SEED=1234 dotnet test tests/PaxosActors.Core.Tests \
//   --filter "FullyQualifiedName~Simulation" --logger "console;verbosity=detailed"
// (the replay also prints the tail of the run's trace).

using System.Collections.Immutable;
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
    /// <summary>Chance per step that one learner crashes (and that one down learner restarts).</summary>
    public double LearnerCrashRate { get; init; }
    /// <summary>A deliberately broken shell, to show the checker has teeth: acceptor replies leave before
    /// their event is durable, so a crash can make an acceptor forget a promise or vote it already sent.</summary>
    public bool UnsafeReplyBeforePersist { get; init; }
    /// <summary>Acceptors ask each other before their first vote whether they lost their state (off: they vote at once).</summary>
    public bool DetectLostAcceptorState { get; init; }
    public ProposerOptions Proposer { get; init; } = new();
    public LearnerOptions Learner { get; init; } = new() { CatchUpTicks = 5, SnapshotEvery = 0 };

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
    private readonly Host[] _acceptors;
    private readonly Host[] _proposers;
    private readonly Host[] _learners;
    private readonly RecordingLog[] _logs;
    private readonly Dictionary<long, SlotValue> _chosen = new();      // the first value any learner applied, per slot
    private readonly PriorityQueue<(Host From, Outgoing Message), (long At, long Seq)> _network = new();
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
        _logs = _ids.Select(id => new RecordingLog(this, id)).ToArray();
        _acceptors = _ids.Select(id => new Host(AgentId.Acceptor(id))).ToArray();
        _proposers = _ids.Select(id => new Host(AgentId.Proposer(id))).ToArray();
        _learners = _ids.Select(id => new Host(AgentId.Learner(id))).ToArray();
        if (!config.ProposerJournalsStartEmpty)
            foreach (var p in _proposers) p.Journal.Add(new RoundReserved(0));
        foreach (var host in _acceptors.Concat(_learners).Concat(_proposers)) Start(host);
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
        var missing = _logs.Select(l => $"learner-{l.Node}: applied {l.Commands.Count}/{_config.Commands}, next slot {LearnerOf(l.Node).NextToApply}");
        throw Fail($"liveness: not every command applied on every learner {_config.MaxHealSteps} steps after healing ({string.Join("; ", missing)})");
    }

    /// <summary>Submits a client command to a node. Exposed for scenario tests.</summary>
    public void Submit(int command, int node)
    {
        _submitted[command] = (_now, node);
        TraceLine($"client submits {command} to proposer-{node}");
        var host = _proposers[node - 1];
        if (!host.Up) return; // the client's request fails; it retries after its timeout
        StepAgent(host, new Propose(TestValues.Cmd(command), 0));
    }

    /// <summary>One unit of time: deliver what is due, tick every live agent, make some journal writes durable.</summary>
    public void Step()
    {
        _now++;
        while (_network.TryPeek(out _, out var due) && due.At <= _now)
        {
            var (from, message) = _network.Dequeue();
            Deliver(from, message);
        }
        foreach (var host in _proposers.Concat(_learners).Concat(_acceptors))
            if (host.Up) StepAgent(host, Tick.Instance);
        foreach (var host in _acceptors.Concat(_proposers).Concat(_learners))
            if (host.Up && (!_faulty || _rng.NextDouble() < _config.FlushRate)) Flush(host);
        ClientRetry();
    }

    /// <summary>Ends every fault: from now on nothing is lost or duplicated and every agent is up.</summary>
    public void Heal()
    {
        _faulty = false;
        TraceLine("--- heal ---");
        foreach (var host in _acceptors.Concat(_learners).Concat(_proposers))
            if (!host.Up) Restart(host);
    }

    public bool AllAppliedEverywhere() => _logs.All(l => l.Commands.Count == _config.Commands);

    public Learner LearnerOf(int node) => (Learner)_learners[node - 1].Agent;

    public Proposer ProposerOf(int node) => (Proposer)_proposers[node - 1].Agent;

    public Acceptor AcceptorOf(int node) => (Acceptor)_acceptors[node - 1].Agent;

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
        CrashOrRestartOne(_acceptors, _config.AcceptorCrashRate);
        CrashOrRestartOne(_proposers, _config.ProposerCrashRate);
        CrashOrRestartOne(_learners, _config.LearnerCrashRate);
    }

    private void CrashOrRestartOne(Host[] hosts, double rate)
    {
        if (rate <= 0 || _rng.NextDouble() >= rate) return;
        var host = hosts[_rng.Next(hosts.Length)];
        if (host.Up) Crash(host); else Restart(host);
    }

    private void Crash(Host host)
    {
        bool loseJournal = host.Id.Agent == Agent.Proposer && _rng.NextDouble() < _config.ProposerJournalLossRate;
        TraceLine($"{host.Id} crashes, losing {host.Unflushed.Count} unflushed record(s)" +
                  (loseJournal ? $" and its whole journal of {host.Journal.Count}" : ""));
        if (loseJournal) host.Journal.Clear();
        host.Up = false;
        host.Unflushed.Clear();
        host.Outbox = new Outbox(); // what waited for the lost records is lost with them
    }

    private void Restart(Host host)
    {
        TraceLine($"{host.Id} restarts from {host.Journal.Count} durable record(s)");
        Start(host);
    }

    /// <summary>A new incarnation: recover what is durable, then step <see cref="Recovered"/>, as the actor shell does.</summary>
    private void Start(Host host)
    {
        host.Agent = NewAgent(host.Id);
        host.Up = true;
        host.Outbox = new Outbox();
        if (host.Id.Agent == Agent.Learner) _logs[host.Id.Node - 1].Reset(); // a fresh state machine, rebuilt by recovery
        foreach (var record in host.Journal) host.Agent.Recover(record);
        StepAgent(host, Recovered.Instance);
    }

    private IAgent NewAgent(AgentId id) => id.Agent switch
    {
        Agent.Acceptor => new Acceptor(id.Node, new AcceptorOptions(_quorum) { DetectLostState = _config.DetectLostAcceptorState, StartupQueryTicks = 10 }),
        Agent.Proposer => new Proposer(id.Node, _quorum, _ids, _config.Proposer, new Random(_rng.Next())),
        _ => new Learner(id.Node, _quorum, _ids, _config.Learner),
    };

    private void Deliver(Host from, Outgoing message)
    {
        TraceLine($"deliver to {message.To}: {Describe(message.Message)}");
        var host = HostOf(message.To);
        if (!host.Up) return;
        StepAgent(host, message.Message);
    }

    private Host HostOf(AgentId id) => id.Agent switch
    {
        Agent.Acceptor => _acceptors[id.Node - 1],
        Agent.Proposer => _proposers[id.Node - 1],
        _ => _learners[id.Node - 1],
    };

    /// <summary>Steps an agent and carries out its Ready, in the order the Ready contract gives.</summary>
    private void StepAgent(Host host, IInput input)
    {
        var ready = host.Agent.Step(input);
        if (ready.IsEmpty) return;

        foreach (var m in ready.Messages)
        {
            if (m.Message is Nack) Nacks++;
            if (m.Message is Prepare && m.To.Node == _ids[0]) Rounds++;
        }
        host.Unflushed.AddRange(ready.Persist);
        host.Unflushed.AddRange(ready.Cache);
        if (_config.UnsafeReplyBeforePersist && host.Id.Agent == Agent.Acceptor)
        {
            foreach (var m in ready.Messages) Send(host, m); // the broken shell: no waiting for durability
            host.Outbox.Admit(new Ready { Persist = ready.Persist });
        }
        else
            foreach (var m in host.Outbox.Admit(ready)) Send(host, m);

        var log = host.Id.Agent == Agent.Learner ? _logs[host.Id.Node - 1] : null;
        if (ready.Install is { } install) log!.Install(install);
        foreach (var chosen in ready.Apply) log!.Apply(chosen.Slot, chosen.Value);
        if (ready.SnapshotAt is { } at)
        {
            if (at != log!.NextSlot) throw Fail($"{host.Id} asked for a snapshot at {at} with {log.NextSlot} applied");
            host.Unflushed.Add(new LearnerSnapshot(at, log.Snapshot()));
        }
        foreach (int learner in ready.SendStateTo)
            Send(host, new Outgoing(AgentId.Learner(learner), new StateTransfer(log!.NextSlot, log.Snapshot())));
        if (ready.FlushWhenIdle) Enqueue(host, new Outgoing(host.Id, PaxosActors.Core.Protocol.Flush.Instance), 1);
        foreach (var notice in ready.Notices) TraceLine($"{host.Id} {notice.Level}: {notice.Text}");
        if (!_faulty) Flush(host);
    }

    /// <summary>Makes every pending journal write of <paramref name="host"/> durable and releases what waited for it.
    /// A learner snapshot replaces the journal before it, as the actor's delete after a saved snapshot does.</summary>
    private void Flush(Host host)
    {
        if (host.Unflushed.Count == 0) return;
        var records = host.Unflushed.ToList();
        host.Unflushed.Clear();
        int durableEvents = 0;
        var saved = new List<long>();
        foreach (var record in records)
        {
            if (record is LearnerSnapshot snapshot)
            {
                host.Journal.Clear();
                saved.Add(snapshot.NextToApply);
            }
            else if (record is not Learned) durableEvents++;
            host.Journal.Add(record);
        }
        foreach (var m in host.Outbox.Durable(durableEvents)) Send(host, m);
        foreach (long at in saved) StepAgent(host, new SnapshotSaved(at));
    }

    private void Send(Host from, Outgoing message)
    {
        bool local = message.To.Node == from.Id.Node;
        if (!local && message.Message is ILocalInput)
            throw Fail($"{from.Id} sent a local input off its node: {Describe(message.Message)} to {message.To}");
        if (!local && _faulty && _rng.NextDouble() < _config.LossRate)
        {
            TraceLine($"lost to {message.To}: {Describe(message.Message)}");
            return;
        }
        Enqueue(from, message, local ? 1 : _config.MinDelay + _rng.Next(_config.MaxDelay - _config.MinDelay + 1));
        if (!local && _faulty && _rng.NextDouble() < _config.DuplicateRate)
            Enqueue(from, message, 1 + _rng.Next(_config.MaxDelay * 2));
    }

    private void Enqueue(Host from, Outgoing message, int delay) => _network.Enqueue((from, message), (_now + delay, _seq++));

    private void OnApply(int node, long slot, SlotValue value, RecordingLog log)
    {
        TraceLine($"learner-{node} applies slot {slot} = {DescribeValue(value)}");
        if (slot != log.NextSlot)
            throw Fail($"learner-{node} applied slot {slot} when slot {log.NextSlot} was next");
        CheckAgreement(node, slot, value);
        log.Record(value);
        foreach (var c in value.Commands)
        {
            int command = TestValues.AsInt(c);
            if (!_submitted.ContainsKey(command))
                throw Fail($"validity: learner-{node} applied command {command} at slot {slot}, which no client submitted");
        }
    }

    private void CheckAgreement(int node, long slot, SlotValue value)
    {
        if (_chosen.TryGetValue(slot, out var earlier))
        {
            if (!earlier.Equals(value))
                throw Fail($"agreement: slot {slot} applied as {DescribeValue(earlier)} elsewhere but as {DescribeValue(value)} on learner-{node}");
        }
        else _chosen[slot] = value;
    }

    private SimulationFailure Fail(string what)
    {
        TraceLine("FAIL " + what);
        return new SimulationFailure($"seed {_seed} ({_config}) at step {_now}: {what}. Replay with PAXOS_SIM_SEED={_seed}");
    }

    private void TraceLine(string line) => _trace?.Add($"[{_now}] {line}");

    private static string DescribeValue(SlotValue v) =>
        v.IsNoOp ? "no-op" : "[" + string.Join(",", v.Commands.Select(TestValues.AsInt)) + "]";

    private static string Describe(IInput m) => m switch
    {
        Accept a => $"Accept({a.Ballot}, slot {a.Slot}, {DescribeValue(a.Value)})",
        Chosen c => $"Chosen(slot {c.Slot}, {DescribeValue(c.Value)})",
        Propose p => $"Propose({DescribeValue(p.Commands)}, hops {p.Hops})",
        Promise p => $"Promise({p.Ballot}, from {p.Acceptor}, entries {string.Join(" ", p.Entries.Select(e => $"{e.Slot}@{e.Ballot}={DescribeValue(e.Value)}"))})",
        ChosenRange r => $"ChosenRange(from {r.FromSlot}, {string.Join(" ", r.Values.Select(DescribeValue))})",
        StateTransfer t => $"StateTransfer(next {t.NextToApply}, {t.State.Length} B)",
        _ => m.ToString() ?? "?",
    };

    /// <summary>One agent's place in the simulation: the agent, whether it is up, its journal, and its outbox.</summary>
    private sealed class Host(AgentId id)
    {
        public AgentId Id { get; } = id;
        public IAgent Agent { get; set; } = null!;
        public bool Up { get; set; }
        /// <summary>Durable: what a restart recovers.</summary>
        public List<IJournalRecord> Journal { get; } = new();
        /// <summary>Written but not durable yet: lost by a crash.</summary>
        public List<IJournalRecord> Unflushed { get; } = new();
        public Outbox Outbox { get; set; } = new();
    }

    /// <summary>The state machine each learner drives: the applied log itself, checked at apply time. Its snapshot is
    /// the whole applied log, so a learner brought up to date by a state transfer is checked slot by slot too.</summary>
    private sealed class RecordingLog(SimulatedCluster cluster, int node)
    {
        private readonly List<SlotValue> _applied = new();

        public int Node { get; } = node;
        public long NextSlot => _applied.Count;
        public HashSet<int> Commands { get; } = new();
        public int Duplicates { get; private set; }

        public void Apply(long slot, SlotValue value) => cluster.OnApply(Node, slot, value, this);

        public void Record(SlotValue value)
        {
            _applied.Add(value);
            foreach (var c in value.Commands)
                if (!Commands.Add(TestValues.AsInt(c))) Duplicates++;
        }

        public void Reset()
        {
            _applied.Clear();
            Commands.Clear();
            Duplicates = 0;
        }

        public byte[] Snapshot()
        {
            using var stream = new MemoryStream();
            using var writer = new BinaryWriter(stream);
            writer.Write(_applied.Count);
            foreach (var value in _applied)
            {
                writer.Write(value.Commands.Length);
                foreach (var c in value.Commands) writer.Write(TestValues.AsInt(c));
            }
            writer.Flush();
            return stream.ToArray();
        }

        /// <summary>Replaces the log with a snapshot's; every slot in it must agree with what others applied.</summary>
        public void Install(StateInstall install)
        {
            using var reader = new BinaryReader(new MemoryStream(install.State));
            int count = reader.ReadInt32();
            if (count != install.NextToApply)
                throw cluster.Fail($"learner-{Node} installed a state of {count} slots labelled as {install.NextToApply}");
            Reset();
            for (int slot = 0; slot < count; slot++)
            {
                int n = reader.ReadInt32();
                var commands = ImmutableArray.CreateBuilder<ReadOnlyMemory<byte>>(n);
                for (int i = 0; i < n; i++) commands.Add(TestValues.Bytes(reader.ReadInt32()));
                var value = new SlotValue(commands.MoveToImmutable());
                cluster.CheckAgreement(Node, slot, value);
                Record(value);
            }
        }
    }
}
