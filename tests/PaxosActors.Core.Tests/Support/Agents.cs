using PaxosActors.Core.Acceptors;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Proposers;
using PaxosActors.Core.Protocol;

namespace PaxosActors.Core.Tests;

/// <summary>Agents as most specs want them: built, recovered from a journal, and already stepped with
/// <see cref="Recovered"/> (the Ready of that first step is dropped: the specs that care step it themselves).</summary>
internal static class Agents
{
    /// <summary>An acceptor that votes at once: lost-state detection off, as for a unit test or an in-memory demo (the
    /// acceptor set then plays no part, so any id will do).</summary>
    public static Acceptor VotingAcceptor(int id, params IJournalRecord[] journal) =>
        Started(new Acceptor(id, new AcceptorOptions(TestValues.Three) { DetectLostState = false }), journal);

    /// <summary>A proposer whose journal holds the round <paramref name="round"/> (a fresh cluster's discovery leaves
    /// <c>RoundReserved(0)</c>), so it needs no round discovery: Idle, its next ballot <c>(round + 1, id)</c>.</summary>
    public static Proposer IdleProposer(int id, ProposerOptions options, long round = 0) =>
        Started(new Proposer(id, TestValues.Three, [1, 2, 3], options, new Random(id)), [new RoundReserved(round)]);

    /// <summary>A learner of a three-node cluster with an empty journal.</summary>
    public static Learner NewLearner(int id, LearnerOptions options) =>
        Started(new Learner(id, TestValues.Three, [1, 2, 3], options), []);

    /// <summary>Replays <paramref name="journal"/> into <paramref name="agent"/>, then steps it with <see cref="Recovered"/>.</summary>
    public static T Started<T>(T agent, IJournalRecord[] journal) where T : IAgent
    {
        foreach (var record in journal) agent.Recover(record);
        agent.Step(Recovered.Instance);
        return agent;
    }
}

/// <summary>Reading a <see cref="Ready"/>, and stepping an agent through several inputs at once.</summary>
internal static class ReadyReading
{
    /// <summary>The messages of type <typeparamref name="T"/> sent to agents of kind <paramref name="to"/>, in order.</summary>
    public static List<T> Sent<T>(this Ready ready, Agent to) where T : IInput =>
        ready.Messages.Where(m => m.To.Agent == to).Select(m => m.Message).OfType<T>().ToList();

    /// <summary>The messages of type <typeparamref name="T"/>, to anyone, in order.</summary>
    public static List<T> Sent<T>(this Ready ready) where T : IInput =>
        ready.Messages.Select(m => m.Message).OfType<T>().ToList();

    /// <summary>Steps <paramref name="agent"/> with each input in turn; returns everything those steps asked for.</summary>
    public static Ready StepEach(this IAgent agent, IEnumerable<IInput> inputs) => Merge(inputs.Select(agent.Step).ToList());

    public static Ready StepEach(this IAgent agent, params IInput[] inputs) => agent.StepEach((IEnumerable<IInput>)inputs);

    /// <summary>Steps <paramref name="agent"/> with <paramref name="count"/> ticks.</summary>
    public static Ready Ticks(this IAgent agent, int count) => agent.StepEach(Enumerable.Repeat<IInput>(Tick.Instance, count));

    /// <summary>Several steps' Readies as one, in step order: what a shell carrying them out one after the other does.</summary>
    public static Ready Merge(IReadOnlyList<Ready> readies)
    {
        if (readies.All(r => r.IsEmpty)) return Ready.None;
        var apply = new List<ChosenSlot>();
        StateInstall? install = null;
        foreach (var r in readies)
        {
            if (r.Install is not null) { install = r.Install; apply.Clear(); }
            apply.AddRange(r.Apply);
        }
        return new Ready
        {
            Persist = readies.SelectMany(r => r.Persist).ToList(),
            Cache = readies.SelectMany(r => r.Cache).ToList(),
            Messages = readies.SelectMany(r => r.Messages).ToList(),
            Install = install,
            Apply = apply,
            SnapshotAt = readies.LastOrDefault(r => r.SnapshotAt is not null)?.SnapshotAt,
            SendStateTo = readies.SelectMany(r => r.SendStateTo).Distinct().ToList(),
            FlushWhenIdle = readies.Any(r => r.FlushWhenIdle),
            Reads = readies.SelectMany(r => r.Reads).ToList(),
            Notices = readies.SelectMany(r => r.Notices).ToList(),
        };
    }
}
