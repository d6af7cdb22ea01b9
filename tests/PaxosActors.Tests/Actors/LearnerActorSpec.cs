using Akka.Actor;
using Akka.TestKit;
using PaxosActors.Actors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Actors;

/// <summary>The learner actor (Paxos Made Simple §2.3): a value is chosen when a majority of acceptors accepted it.</summary>
public class LearnerActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly AgentDirectory _directory = new();
    private readonly TestProbe _applied;
    private readonly TestProbe _otherLearner;
    private readonly TestProbe _proposer;

    public LearnerActorSpec() : this(TestConfig.WithJournal(TestConfig.NewDatabasePath())) { }

    /// <summary>The same specs on another journal (<see cref="Persistence.SecondPluginSpecs"/>).</summary>
    protected LearnerActorSpec(Akka.Configuration.Config config) : base(config)
    {
        _applied = CreateTestProbe();
        _otherLearner = CreateTestProbe();
        _proposer = CreateTestProbe();
        _directory.Register(AgentId.Learner(2), _otherLearner);
        _directory.Register(AgentId.Proposer(1), _proposer);
    }

    private static SlotValue Value(string s) => SlotValue.Of(System.Text.Encoding.UTF8.GetBytes(s));

    /// <summary>Learner 1, recovered from an empty journal: it tells its proposer that nothing is applied yet.</summary>
    private async Task<IActorRef> NewLearnerAsync()
    {
        var learner = Sys.ActorOf(LearnerActor.Props(
            _ => new Learner(1, new QuorumSet([1, 2, 3]), [1, 2], new LearnerOptions { Snapshots = false }),
            _ => new ProbeStateMachine(_applied), _directory, TimeSpan.FromMilliseconds(10)));
        var progress = Assert.IsType<LearnerProgress>((await _proposer.ExpectMsgAsync<LocalDelivery>()).Input);
        Assert.Equal((0, true), (progress.NextToApply, progress.Restarted));
        return learner;
    }

    [Fact]
    public async Task Learner_declares_a_value_chosen_only_at_a_quorum_of_distinct_acceptors()
    {
        var learner = await NewLearnerAsync();
        var ballot = new Ballot(1, 1);
        learner.Tell(new Accept(ballot, 0, Value("v")));
        learner.Tell(new Accepted(ballot, 0, 1));
        learner.Tell(new Accepted(ballot, 0, 1)); // a duplicate vote from the same acceptor
        learner.Tell(new Accepted(ballot, 0, 9)); // a vote from outside the acceptor set
        await _applied.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));

        learner.Tell(new Accepted(ballot, 0, 3));
        Assert.Equal(new AppliedSlot(0, Value("v")), await _applied.ExpectMsgAsync<AppliedSlot>());
        Assert.Equal(new Chosen(0, Value("v")), await _otherLearner.ExpectMsgAsync<Chosen>());
        Assert.Equal(new Chosen(0, Value("v")), await _proposer.ExpectMsgAsync<Chosen>());

        learner.Tell(new Accepted(ballot, 0, 2)); // a late vote changes nothing
        await _applied.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Learner_does_not_mix_votes_of_different_ballots()
    {
        var learner = await NewLearnerAsync();
        learner.Tell(new Accept(new Ballot(1, 1), 0, Value("a")));
        learner.Tell(new Accept(new Ballot(2, 1), 0, Value("b")));
        learner.Tell(new Accepted(new Ballot(1, 1), 0, 1));
        learner.Tell(new Accepted(new Ballot(2, 1), 0, 2));
        await _applied.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(300));
        learner.Tell(new Accepted(new Ballot(2, 1), 0, 3));
        Assert.Equal(new AppliedSlot(0, Value("b")), await _applied.ExpectMsgAsync<AppliedSlot>());
    }

    [Fact]
    public async Task Learner_applies_in_slot_order_and_asks_a_peer_to_fill_a_gap()
    {
        var learner = await NewLearnerAsync();
        learner.Tell(new Chosen(1, Value("second")));
        await _applied.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        var request = await _otherLearner.FishForMessageAsync<CatchUp>(_ => true, TimeSpan.FromSeconds(3));
        Assert.Equal(new CatchUp(1, 0), request);

        learner.Tell(new ChosenRange(0, [Value("first")]));
        Assert.Equal(new AppliedSlot(0, Value("first")), await _applied.ExpectMsgAsync<AppliedSlot>());
        Assert.Equal(new AppliedSlot(1, Value("second")), await _applied.ExpectMsgAsync<AppliedSlot>());
    }
}
