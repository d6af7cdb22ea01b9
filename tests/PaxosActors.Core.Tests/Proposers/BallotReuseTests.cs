using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using static PaxosActors.Core.Tests.TestValues;

namespace PaxosActors.Core.Tests.Proposers;

/// <summary>
/// A proposer that loses its journal (file deleted or unreadable) restarts with round 0. If it then reused a
/// ballot its earlier incarnation had used in an Accept, one (slot, ballot) could carry two values, and two
/// values could be chosen for one slot. This scripts that interleaving message by message.
/// </summary>
public sealed class BallotReuseTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Proposer_that_lost_its_journal_does_not_reuse_a_ballot_and_no_slot_gets_two_values(bool multiPaxos)
    {
        var net = new Net(multiPaxos);
        var p1 = AgentId.Proposer(1);
        var l1 = AgentId.Learner(1);
        var p2 = AgentId.Proposer(2);
        var l2 = AgentId.Learner(2);
        var a1 = AgentId.Acceptor(1);
        var a2 = AgentId.Acceptor(2);
        var a3 = AgentId.Acceptor(3);

        // 1. The old incarnation of node 1 wins Phase 1 with acceptors 1 and 2, and its Accept of v for slot 0
        //    reaches acceptor 1 only (its learner gets one vote: nothing chosen). Then node 1 dies.
        var old = net.StartProposer(1);
        net.Propose(1, Cmd(1));
        net.RunUntil(() => old.Phase == ProposerPhase.Leading, p1, l1, a1, a2);
        var oldBallot = old.Ballot;
        net.Run(2, p1, l1, a1);
        Assert.Equal(new AcceptedEntry(0, oldBallot, Cmd(1)), net.Acceptors[0].EntryAt(0));
        Assert.Null(net.Acceptors[1].EntryAt(0));
        var promisedByAMajority = net.Acceptors.Select(a => a.Promised).OrderDescending().ElementAt(Three.Majority - 1);
        Assert.Equal(oldBallot, promisedByAMajority);

        // 2. Node 1 comes back having lost its SQLite file: proposer and learner start from nothing. It wins
        //    Phase 1 with acceptors 2 and 3 (neither holds anything for slot 0) and proposes v' for slot 0;
        //    the Accept reaches acceptors 1 and 2.
        net.Kill(1);
        var reborn = net.StartProposer(1);
        net.Propose(1, Cmd(2));
        net.RunUntil(() => reborn.Phase == ProposerPhase.Leading, p1, l1, a2, a3);
        net.Run(3, p1, l1, a1, a2);
        net.Kill(1);

        // 3. Node 2's proposer, with acceptors 1 and 3 (acceptor 2 and node 1 unreachable), proposes a command of
        //    its own; Phase 1 makes it finish slot 0 first.
        net.StartProposer(2);
        net.Propose(2, Cmd(3));
        net.RunUntil(() => net.AppliedBy(2).Count > 0, p2, l2, a1, a3);

        // Agreement: no learner applies a value for a slot that another learner applied differently...
        foreach (var slot in net.AllApplied.GroupBy(x => x.Slot))
            Assert.True(slot.Select(x => x.Value).Distinct().Count() == 1,
                $"slot {slot.Key} chosen as {string.Join(" and ", slot.Select(x => AsInt(x.Value.Commands[0])).Distinct())}");
        // ...and no (slot, ballot) was ever proposed with two values.
        foreach (var pair in net.AcceptsSent.GroupBy(a => (a.Slot, a.Ballot)))
            Assert.True(pair.Select(a => a.Value).Distinct().Count() == 1, $"two values proposed for slot {pair.Key.Slot} at {pair.Key.Ballot}");
        // The new incarnation's first Prepare is above every ballot a majority had promised, so above every
        // ballot its earlier incarnation used in an Accept.
        var firstPrepare = net.PreparesSent.First(p => p.Incarnation == reborn).Prepare;
        Assert.True(firstPrepare.Ballot > promisedByAMajority,
            $"the reborn proposer's first Prepare uses {firstPrepare.Ballot}, not above {promisedByAMajority}");
    }

    /// <summary>A hand-driven network for three nodes: each tick delivers the queued messages to the agents named
    /// reachable (the rest are lost), then ticks the reachable proposers and learners. Every agent is stepped through
    /// <see cref="IAgent.Step"/> and its messages leave through its own <see cref="Outbox"/>, as in the actors and
    /// <see cref="Simulation.SimulatedCluster"/>; the journal makes every event durable at once.</summary>
    private sealed class Net
    {
        private static readonly int[] Ids = [1, 2, 3];
        private readonly ProposerOptions _options;
        private readonly LearnerOptions _learnerOptions = new() { CatchUpTicks = 3, SnapshotEvery = 0 };
        private readonly Dictionary<AgentId, Host> _live = new();
        private readonly Dictionary<int, AppliedLog> _logs = new();
        private readonly List<AppliedLog> _everyLog = new();
        private List<Outgoing> _queue = new();

        public Net(bool multiPaxos)
        {
            _options = new ProposerOptions
            {
                MultiPaxos = multiPaxos, ElectionTimeoutTicks = 2, PhaseTimeoutTicks = 10, HeartbeatTicks = 3, BackoffJitter = 0,
            };
            Acceptors = Ids.Select(id => Start(new Acceptor(id, new AcceptorOptions(Three) { DetectLostState = false }))).ToArray();
        }

        public Acceptor[] Acceptors { get; }
        public List<(Proposer Incarnation, Prepare Prepare)> PreparesSent { get; } = new();
        public List<Accept> AcceptsSent { get; } = new();

        public IEnumerable<(long Slot, SlotValue Value)> AllApplied => _everyLog.SelectMany(l => l.Applied);

        public IReadOnlyList<(long Slot, SlotValue Value)> AppliedBy(int node) => _logs[node].Applied;

        /// <summary>Starts node <paramref name="id"/>'s proposer and learner with empty journals.</summary>
        public Proposer StartProposer(int id)
        {
            var log = new AppliedLog();
            _logs[id] = log;
            _everyLog.Add(log);
            Start(new Learner(id, Three, Ids, _learnerOptions), log);
            return Start(new Proposer(id, Three, Ids, _options, new Random(id)));
        }

        /// <summary>A client hands <paramref name="commands"/> to node <paramref name="id"/>'s proposer.</summary>
        public void Propose(int id, SlotValue commands) => Step(_live[AgentId.Proposer(id)], new Propose(commands, 0));

        /// <summary>Node <paramref name="id"/>'s proposer and learner die; nothing in flight survives.</summary>
        public void Kill(int id)
        {
            _live.Remove(AgentId.Proposer(id));
            _live.Remove(AgentId.Learner(id));
            _queue.Clear();
        }

        public void RunUntil(Func<bool> done, params AgentId[] reachable)
        {
            for (int i = 0; i < 500 && !done(); i++) Run(1, reachable);
            Assert.True(done(), "the script did not reach its next stage");
        }

        public void Run(int ticks, params AgentId[] reachable)
        {
            var up = reachable.ToHashSet();
            for (int t = 0; t < ticks; t++)
            {
                var due = _queue;
                _queue = new List<Outgoing>();
                foreach (var message in due)
                    if (up.Contains(message.To) && _live.TryGetValue(message.To, out var host)) Step(host, message.Message);
                foreach (var host in _live.Values.Where(h => h.Agent is Proposer && up.Contains(h.Agent.Id)).ToList())
                    Step(host, Tick.Instance);
                foreach (var host in _live.Values.Where(h => h.Agent is Learner && up.Contains(h.Agent.Id)).ToList())
                    Step(host, Tick.Instance);
            }
        }

        /// <summary>A new incarnation with an empty journal: stepped with Recovered, as the shell does.</summary>
        private T Start<T>(T agent, AppliedLog? log = null) where T : IAgent
        {
            var host = new Host(agent, log);
            _live[agent.Id] = host;
            Step(host, Recovered.Instance);
            return agent;
        }

        /// <summary>Carries out a step's Ready as the Ready contract orders it.</summary>
        private void Step(Host host, IInput input)
        {
            var ready = host.Agent.Step(input);
            if (ready.IsEmpty) return;
            foreach (var m in host.Outbox.Admit(ready)) Send(host, m);
            host.Log?.Carry(ready);
            Assert.Null(ready.SnapshotAt);       // SnapshotEvery = 0
            Assert.False(ready.FlushWhenIdle);   // no BufferForwards
            foreach (int learner in ready.SendStateTo)
                Send(host, new Outgoing(AgentId.Learner(learner), new StateTransfer(host.Log!.NextSlot, host.Log.Snapshot())));
            foreach (var m in host.Outbox.Durable(ready.Persist.Count)) Send(host, m); // the journal: durable at once
        }

        private void Send(Host from, Outgoing message)
        {
            if (from.Agent is Proposer incarnation && message.Message is Prepare prepare && message.To == AgentId.Acceptor(1))
                PreparesSent.Add((incarnation, prepare));
            if (message.Message is Accept accept && message.To.Agent == Agent.Acceptor) AcceptsSent.Add(accept);
            _queue.Add(message);
        }

        private sealed class Host(IAgent agent, AppliedLog? log)
        {
            public IAgent Agent { get; } = agent;
            public AppliedLog? Log { get; } = log;
            public Outbox Outbox { get; } = new();
        }
    }
}
