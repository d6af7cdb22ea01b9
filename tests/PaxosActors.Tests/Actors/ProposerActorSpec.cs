using Akka.Actor;
using Akka.TestKit;
using PaxosActors.Actors;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Actors;

/// <summary>The proposer actor against probe acceptors (Paxos Made Simple §2.2, "P2c").</summary>
public class ProposerActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly AgentDirectory _directory = new();
    private readonly TestProbe[] _acceptors;
    private readonly TestProbe _learner;

    public ProposerActorSpec() : this(TestConfig.WithJournal(TestConfig.NewDatabasePath())) { }

    /// <summary>The same specs on another journal (<see cref="Persistence.SecondPluginSpecs"/>).</summary>
    protected ProposerActorSpec(Akka.Configuration.Config config) : base(config)
    {
        _acceptors = [CreateTestProbe(), CreateTestProbe(), CreateTestProbe()];
        for (int i = 0; i < 3; i++) _directory.Register(AgentId.Acceptor(i + 1), _acceptors[i]);
        _learner = CreateTestProbe();
        _directory.Register(AgentId.Learner(4), _learner);
    }

    private static SlotValue Value(string s) => SlotValue.Of(System.Text.Encoding.UTF8.GetBytes(s));

    private static readonly ProposerOptions Basic = new()
    {
        MultiPaxos = false, PhaseTimeoutTicks = 1000, BackoffBaseTicks = 1, BackoffCapTicks = 2,
    };

    /// <summary>Proposer 4, started: its learner (a probe) answers its progress query, as a learner that applied
    /// nothing does.</summary>
    private async Task<IActorRef> NewProposerAsync(string name, ProposerOptions? options = null)
    {
        var proposer = NewProposer(name, options);
        Assert.Equal(new LocalDelivery(ProgressQuery.Instance), await _learner.ExpectMsgAsync<LocalDelivery>());
        proposer.Tell(new LocalDelivery(new LearnerProgress(0)), _learner);
        return proposer;
    }

    private IActorRef NewProposer(string name, ProposerOptions? options = null) =>
        Sys.ActorOf(ProposerActor.Props(
            random => new Proposer(4, new QuorumSet([1, 2, 3]), [4], options ?? Basic, random),
            _directory, TimeSpan.FromMilliseconds(10)), name);

    /// <summary>A proposer with an empty journal first asks every acceptor what it promised; the probes answer.</summary>
    private async Task AnswerRoundQueriesAsync(IActorRef proposer, Ballot promised)
    {
        foreach (var (a, i) in _acceptors.Select((a, i) => (a, i)))
        {
            var query = await a.ExpectMsgAsync<RoundQuery>();
            Assert.Equal(4, query.Proposer);
            proposer.Tell(new RoundReport(i + 1, promised, query.Nonce), a);
        }
    }

    private async Task<Prepare> ExpectPrepareAtAllAsync()
    {
        Prepare? first = null;
        foreach (var a in _acceptors)
        {
            var p = await a.ExpectMsgAsync<Prepare>();
            Assert.True(first is null || p == first);
            first = p;
        }
        return first!;
    }

    [Fact]
    public async Task Proposer_adopts_the_value_of_the_highest_ballot_accepted_entry_as_in_seed_002()
    {
        var proposer = await NewProposerAsync("seed-002");
        proposer.Tell(new Propose(Value("5"), 0));
        await AnswerRoundQueriesAsync(proposer, Ballot.Zero);

        // A first attempt is refused: the acceptors have seen round 3, so the retry uses round 4.
        var first = await ExpectPrepareAtAllAsync();
        foreach (var (a, i) in _acceptors.Select((a, i) => (a, i)))
            proposer.Tell(new Nack(first.Ballot, i + 1, new Ballot(3, 9)), a);
        var second = await ExpectPrepareAtAllAsync();
        Assert.Equal(new Ballot(4, 4), second.Ballot);

        // Acceptor 1 accepted [n=2, v=8]; acceptor 2 accepted nothing. Seed 002 would pick the larger
        // value; Paxos picks the value of the highest-numbered proposal among the promises: 8.
        proposer.Tell(new Promise(second.Ballot, 1, 0, [new AcceptedEntry(0, new Ballot(2, 1), Value("8"))]));
        proposer.Tell(new Promise(second.Ballot, 2, 0, []));

        var accepts = new List<Accept>();
        foreach (var a in _acceptors) accepts.Add(await a.ExpectMsgAsync<Accept>());
        Assert.All(accepts, a => Assert.Equal(new Accept(new Ballot(4, 4), 0, Value("8")), a));
        // Its own value 5 is not lost: once slot 0 is chosen, Basic Paxos runs a new instance for slot 1.
        proposer.Tell(new Chosen(0, Value("8")));
        var third = await ExpectPrepareAtAllAsync();
        Assert.Equal(new Prepare(new Ballot(5, 4), 1), third);
        foreach (int i in new[] { 1, 2 }) proposer.Tell(new Promise(third.Ballot, i, 0, []));
        foreach (var a in _acceptors)
            Assert.Equal(new Accept(new Ballot(5, 4), 1, Value("5")), await a.ExpectMsgAsync<Accept>());
    }

    [Fact]
    public async Task Proposer_restarted_from_its_journal_never_reuses_a_ballot()
    {
        var proposer = await NewProposerAsync("before-restart");
        proposer.Tell(new Propose(Value("x"), 0));
        await AnswerRoundQueriesAsync(proposer, Ballot.Zero);
        var before = await ExpectPrepareAtAllAsync(); // sent only after its round is durable
        Watch(proposer);
        Sys.Stop(proposer);
        await ExpectTerminatedAsync(proposer);

        var again = await NewProposerAsync("after-restart"); // same persistence id: proposer-4
        again.Tell(new Propose(Value("y"), 0));
        var after = await ExpectPrepareAtAllAsync(); // its journal holds a round: no RoundQuery first
        Assert.True(after.Ballot > before.Ballot, $"{after.Ballot} must be above {before.Ballot}");
        Assert.True(after.Ballot.Round > before.Ballot.Round);
    }

    [Fact]
    public async Task Proposer_that_is_nacked_retries_with_a_higher_ballot_after_backing_off()
    {
        var proposer = await NewProposerAsync("nacked");
        proposer.Tell(new Propose(Value("v"), 0));
        await AnswerRoundQueriesAsync(proposer, Ballot.Zero);
        var ballot = (await ExpectPrepareAtAllAsync()).Ballot;
        for (int attempt = 0; attempt < 3; attempt++)
        {
            proposer.Tell(new Nack(ballot, 1, new Ballot(ballot.Round + 10, 9)));
            var retry = (await ExpectPrepareAtAllAsync()).Ballot;
            Assert.True(retry.Round > ballot.Round + 10, $"retry {retry} must beat the promise it was refused with");
            ballot = retry;
        }
        var status = await proposer.Ask<ProposerStatus>(GetProposerStatus.Instance);
        Assert.Equal(ProposerPhase.Preparing, status.Phase);
        Assert.Equal(3, status.Failures); // the backoff exponent grew with each refusal
    }

    [Fact] // a node that lost its journal must not reuse a ballot its earlier incarnation used
    public async Task Proposer_with_an_empty_journal_prepares_only_above_the_promises_a_majority_reports()
    {
        var proposer = await NewProposerAsync("empty-journal");
        proposer.Tell(new Propose(Value("v"), 0));
        var queries = new List<RoundQuery>();
        foreach (var a in _acceptors) queries.Add(await a.ExpectMsgAsync<RoundQuery>());
        Assert.Single(queries.Distinct());
        var status = await proposer.Ask<ProposerStatus>(GetProposerStatus.Instance);
        Assert.Equal(ProposerPhase.Discovering, status.Phase);

        proposer.Tell(new RoundReport(1, new Ballot(9, 4), queries[0].Nonce), _acceptors[0]); // its own earlier ballot
        foreach (var a in _acceptors) await a.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // one answer is no majority
        proposer.Tell(new RoundReport(2, new Ballot(3, 1), queries[0].Nonce), _acceptors[1]);

        var prepare = await ExpectPrepareAtAllAsync();
        Assert.Equal(new Ballot(10, 4), prepare.Ballot);
    }
}
