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
        var p1 = Address.Proposer(1);
        var l1 = Address.Learner(1);
        var p2 = Address.Proposer(2);
        var l2 = Address.Learner(2);
        var a1 = Address.Acceptor(1);
        var a2 = Address.Acceptor(2);
        var a3 = Address.Acceptor(3);

        // 1. The old incarnation of node 1 wins Phase 1 with acceptors 1 and 2, and its Accept of v for slot 0
        //    reaches acceptor 1 only (its learner gets one vote: nothing chosen). Then node 1 dies.
        var old = net.StartProposer(1);
        old.Handle(new Propose(Cmd(1), 0));
        net.Collect(old);
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
        reborn.Handle(new Propose(Cmd(2), 0));
        net.Collect(reborn);
        net.RunUntil(() => reborn.Phase == ProposerPhase.Leading, p1, l1, a2, a3);
        net.Run(3, p1, l1, a1, a2);
        net.Kill(1);

        // 3. Node 2's proposer, with acceptors 1 and 3 (acceptor 2 and node 1 unreachable), proposes a command of
        //    its own; Phase 1 makes it finish slot 0 first.
        var second = net.StartProposer(2);
        second.Handle(new Propose(Cmd(3), 0));
        net.Collect(second);
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

    /// <summary>A hand-driven network for three nodes: each tick delivers the queued messages to the roles
    /// named reachable (the rest are lost), then ticks the reachable proposers and learners. Events count
    /// as durable at once.</summary>
    private sealed class Net(bool multiPaxos)
    {
        private static readonly int[] Ids = [1, 2, 3];
        private readonly ProposerOptions _options = new()
        {
            MultiPaxos = multiPaxos, ElectionTimeoutTicks = 2, PhaseTimeoutTicks = 10, HeartbeatTicks = 3, BackoffJitter = 0,
        };
        private readonly Dictionary<int, Proposer> _proposers = new();
        private readonly Dictionary<int, Learner> _learners = new();
        private readonly Dictionary<int, RecordingStateMachine> _machines = new();
        private readonly List<RecordingStateMachine> _everyMachine = new();
        private List<Envelope> _queue = new();

        public Acceptor[] Acceptors { get; } = Ids.Select(id => new Acceptor(id)).ToArray();
        public List<(Proposer Incarnation, Prepare Prepare)> PreparesSent { get; } = new();
        public List<Accept> AcceptsSent { get; } = new();

        public IEnumerable<(long Slot, SlotValue Value)> AllApplied => _everyMachine.SelectMany(m => m.Applied);

        public List<(long Slot, SlotValue Value)> AppliedBy(int node) => _machines[node].Applied;

        /// <summary>Starts node <paramref name="id"/>'s proposer and learner with empty journals.</summary>
        public Proposer StartProposer(int id)
        {
            var proposer = new Proposer(id, Three, Ids, _options, new Random(id));
            proposer.Recovered(journalEmpty: true);
            _proposers[id] = proposer;
            var machine = new RecordingStateMachine();
            _machines[id] = machine;
            _everyMachine.Add(machine);
            _learners[id] = new Learner(id, Three, Ids, new LearnerOptions { CatchUpTicks = 3 }, machine);
            Collect(proposer);
            return proposer;
        }

        /// <summary>Node <paramref name="id"/>'s proposer and learner die; nothing in flight survives.</summary>
        public void Kill(int id)
        {
            _proposers.Remove(id);
            _learners.Remove(id);
            _queue.Clear();
        }

        public void Collect(Proposer p)
        {
            foreach (var env in p.TakeReady().Messages)
            {
                if (env.Message is Prepare prepare && env.To.Node == 1) PreparesSent.Add((p, prepare));
                if (env.Message is Accept accept && env.To.Role == Role.Acceptor) AcceptsSent.Add(accept);
                _queue.Add(env);
            }
        }

        public void RunUntil(Func<bool> done, params Address[] reachable)
        {
            for (int i = 0; i < 500 && !done(); i++) Run(1, reachable);
            Assert.True(done(), "the script did not reach its next stage");
        }

        public void Run(int ticks, params Address[] reachable)
        {
            var up = reachable.ToHashSet();
            for (int t = 0; t < ticks; t++)
            {
                var due = _queue;
                _queue = new List<Envelope>();
                foreach (var env in due)
                    if (up.Contains(env.To)) Deliver(env);
                foreach (var (id, p) in _proposers)
                    if (up.Contains(Address.Proposer(id))) { p.Tick(); Collect(p); }
                foreach (var (id, l) in _learners)
                    if (up.Contains(Address.Learner(id))) { l.Tick(); _queue.AddRange(l.TakeReady().Messages); }
            }
        }

        private void Deliver(Envelope env)
        {
            int node = env.To.Node;
            switch (env.To.Role)
            {
                case Role.Acceptor:
                    var step = CoreHandlers.Deliver(Acceptors[node - 1], env.Message);
                    if (step.Reply is { } reply) _queue.Add(reply);
                    break;
                case Role.Proposer when _proposers.TryGetValue(node, out var p):
                    CoreHandlers.Deliver(p, env.Message);
                    Collect(p);
                    break;
                case Role.Learner when _learners.TryGetValue(node, out var l):
                    CoreHandlers.Deliver(l, env.Message);
                    _queue.AddRange(l.TakeReady().Messages);
                    break;
            }
        }
    }
}
