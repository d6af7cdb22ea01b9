using Akka.Actor;
using Akka.TestKit;
using PaxosActors.Actors;
using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Protocol;
using PaxosActors.Routing;
using PaxosActors.Tests.Support;

namespace PaxosActors.Tests.Actors;

/// <summary>The acceptor actor against probes standing in for proposers and learners (Paxos Made Simple §2.2).</summary>
public class AcceptorActorSpec : Akka.TestKit.Xunit2.TestKit
{
    private readonly AgentDirectory _directory = new();
    private readonly TestProbe _proposer1;
    protected readonly TestProbe _proposer2;
    private readonly TestProbe _learner1;

    public AcceptorActorSpec() : this(TestConfig.WithJournal(TestConfig.NewDatabasePath())) { }

    /// <summary>The same specs on another journal (<see cref="Persistence.SecondPluginSpecs"/>).</summary>
    protected AcceptorActorSpec(Akka.Configuration.Config config) : base(config)
    {
        _proposer1 = CreateTestProbe();
        _proposer2 = CreateTestProbe();
        _learner1 = CreateTestProbe();
        _directory.Register(AgentId.Proposer(1), _proposer1);
        _directory.Register(AgentId.Proposer(2), _proposer2);
        _directory.Register(AgentId.Learner(1), _learner1);
    }

    private static SlotValue Value(string s) => SlotValue.Of(System.Text.Encoding.UTF8.GetBytes(s));

    /// <summary>Acceptor 7, the only one of its set, with lost-state detection off: it votes as soon as it recovered.</summary>
    protected IActorRef NewAcceptor(string? name = null, AcceptorOptions? options = null) =>
        Sys.ActorOf(AcceptorActor.Props(7, options ?? new AcceptorOptions(new QuorumSet([7])) { DetectLostState = false }, _directory,
            TimeSpan.FromMilliseconds(10)), name ?? $"acceptor-{Guid.NewGuid():N}");

    [Fact]
    public async Task Acceptor_promises_a_higher_ballot_and_nacks_a_lower_one()
    {
        var acceptor = NewAcceptor();
        acceptor.Tell(new Prepare(new Ballot(5, 2), 0));
        var promise = await _proposer2.ExpectMsgAsync<Promise>();
        Assert.Equal(new Ballot(5, 2), promise.Ballot);
        Assert.Equal(7, promise.Acceptor);

        acceptor.Tell(new Prepare(new Ballot(4, 1), 0));
        var nack = await _proposer1.ExpectMsgAsync<Nack>();
        Assert.Equal(new Nack(new Ballot(4, 1), 7, new Ballot(5, 2)), nack);
    }

    [Fact]
    public async Task Acceptor_accepts_at_or_above_its_promise_and_nacks_below_it()
    {
        var acceptor = NewAcceptor();
        acceptor.Tell(new Prepare(new Ballot(3, 1), 0));
        await _proposer1.ExpectMsgAsync<Promise>();

        acceptor.Tell(new Accept(new Ballot(3, 1), 0, Value("equal")));       // equal to the promise: accepted
        Assert.Equal(new Accepted(new Ballot(3, 1), 0, 7), await _learner1.ExpectMsgAsync<Accepted>());

        acceptor.Tell(new Accept(new Ballot(4, 1), 1, Value("above")));       // above it: accepted, promise raised
        Assert.Equal(new Accepted(new Ballot(4, 1), 1, 7), await _learner1.ExpectMsgAsync<Accepted>());

        acceptor.Tell(new Accept(new Ballot(2, 2), 2, Value("below")));       // below it: refused
        Assert.Equal(new Nack(new Ballot(2, 2), 7, new Ballot(4, 1)), await _proposer2.ExpectMsgAsync<Nack>());
        await _learner1.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Acceptor_reports_its_highest_ballot_accepted_entry_in_a_promise()
    {
        var acceptor = NewAcceptor();
        acceptor.Tell(new Accept(new Ballot(2, 1), 0, Value("8")));
        await _learner1.ExpectMsgAsync<Accepted>();
        acceptor.Tell(new Accept(new Ballot(3, 1), 0, Value("9")));
        await _learner1.ExpectMsgAsync<Accepted>();

        acceptor.Tell(new Prepare(new Ballot(4, 2), 0));
        var promise = await _proposer2.ExpectMsgAsync<Promise>();
        var entry = Assert.Single(promise.Entries);
        Assert.Equal(new AcceptedEntry(0, new Ballot(3, 1), Value("9")), entry);
    }

    [Fact]
    public async Task Acceptor_recreated_from_its_sqlite_journal_still_refuses_lower_ballots_and_reports_its_value()
    {
        var acceptor = NewAcceptor("durable-acceptor");
        acceptor.Tell(new Accept(new Ballot(6, 1), 3, Value("kept")));
        await _learner1.ExpectMsgAsync<Accepted>(); // the reply leaves only after the write is durable
        Watch(acceptor);
        Sys.Stop(acceptor);
        await ExpectTerminatedAsync(acceptor);

        var again = NewAcceptor("durable-acceptor-again"); // same persistence id: acceptor-7
        again.Tell(new Prepare(new Ballot(5, 2), 0));
        Assert.Equal(new Nack(new Ballot(5, 2), 7, new Ballot(6, 1)), await _proposer2.ExpectMsgAsync<Nack>());

        again.Tell(new Prepare(new Ballot(7, 2), 0));
        var promise = await _proposer2.ExpectMsgAsync<Promise>();
        Assert.Equal(new AcceptedEntry(3, new Ballot(6, 1), Value("kept")), Assert.Single(promise.Entries));
    }

    [Fact]
    public async Task Voting_acceptor_answers_a_round_query_with_its_promise()
    {
        var acceptor = NewAcceptor();
        acceptor.Tell(new Prepare(new Ballot(5, 2), 0));
        await _proposer2.ExpectMsgAsync<Promise>();

        acceptor.Tell(new RoundQuery(1, 77));

        Assert.Equal(new RoundReport(7, new Ballot(5, 2), 77), await _proposer1.ExpectMsgAsync<RoundReport>());
    }

    [Fact] // its blank promise would let a proposer that lost its journal reuse a ballot
    public async Task Acceptor_that_lost_its_state_answers_no_round_query_while_waiting_or_refusing()
    {
        var other = CreateTestProbe();
        _directory.Register(AgentId.Acceptor(8), other);
        var acceptor = NewAcceptor(options: new AcceptorOptions(new QuorumSet([7, 8])));
        var question = await other.ExpectMsgAsync<StateQuery>();

        acceptor.Tell(new RoundQuery(1, 1)); // waiting: its journal is empty
        await _proposer1.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));

        acceptor.Tell(new StateReport(8, question.Full, new Ballot(4, 1), 0, [], KnowsAsker: true), other);
        await AwaitAssertAsync(async () =>
            Assert.Equal(AcceptorMode.Refusing, (await acceptor.Ask<AcceptorState>(GetAcceptorState.Instance)).Mode));
        acceptor.Tell(new RoundQuery(1, 2)); // refusing: it lost its state
        await _proposer1.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }
}
