using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;
using PaxosActors.Persistence;
using PaxosActors.Routing;

namespace PaxosActors.Node.Commands;

/// <summary>
/// The visible Basic Paxos run: three nodes with an acceptor and a learner each, two of them with
/// competing proposers, in one ActorSystem whose journal is one SQLite file.
/// </summary>
public static class BasicPaxosDemo
{
    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args);
        cl.AllowOnly("data-dir", "values");
        string dataDir = cl.Get("data-dir", "./data");
        string[] values = cl.Get("values", "apple,banana").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (values.Length != 2) throw new UsageException("--values takes two comma-separated values, one per proposer");
        string run = DateTime.Now.ToString("HH:mm:ss.fff");
        string[] proposals = values.Select(v => $"{v}@{run}").ToArray();

        string db = Path.Combine(dataDir, "demo.db");
        SqliteJournal.Prepare(db);
        var config = ConfigurationFactory.ParseString("""
                akka.loglevel = WARNING
                akka.stdout-loglevel = WARNING
                paxos { acceptors = [1, 2, 3], mode = basic, data-dir = "." }
                """)
            .WithFallback(SqliteJournal.Config(db))
            .WithFallback(PaxosSettings.DefaultConfig);

        var applied = new ConcurrentDictionary<int, ConcurrentDictionary<long, string>>();
        var directory = new AgentDirectory { Trace = PrintExchange };
        using var system = ActorSystem.Create("paxos-demo", config);

        Console.WriteLine($"journal: {Path.GetFullPath(db)} (SQLite, WAL, synchronous={SqliteJournal.SynchronousMode(db)})");
        Console.WriteLine($"acceptors 1, 2, 3; proposer 1 proposes \"{proposals[0]}\", proposer 2 proposes \"{proposals[1]}\"\n");

        var nodes = new List<PaxosNodeRefs>();
        foreach (int id in new[] { 1, 2, 3 })
        {
            var settings = PaxosSettings.Create(ConfigurationFactory.ParseString($"paxos.node-id = {id}").WithFallback(config));
            var agents = id == 3 ? PaxosAgents.Acceptor | PaxosAgents.Learner : PaxosAgents.All;
            nodes.Add(PaxosNode.Start(system, settings, directory, _ => new PrintingStateMachine(id, applied), agents));
        }

        var allApplied = Task.Run(async () =>
        {
            while (!(applied.Count == 3 && applied.Values.All(log => proposals.All(p => log.Values.Contains(p)))))
                await Task.Delay(20);
        });
        for (int i = 0; i < 2; i++)
            nodes[i].Proposer!.Tell(new Propose(SlotValue.Of(Encoding.UTF8.GetBytes(proposals[i])), 0));

        bool done = await Task.WhenAny(allApplied, Task.Delay(TimeSpan.FromSeconds(30))) == allApplied;
        Console.WriteLine();
        foreach (var (node, log) in applied.OrderBy(p => p.Key))
            Console.WriteLine($"learner-{node} chose: " + string.Join(", ", log.OrderBy(p => p.Key).Select(p => $"slot {p.Key} = \"{p.Value}\"")));
        await system.Terminate();
        if (!done)
        {
            Console.Error.WriteLine("no value chosen within 30 s");
            return 1;
        }
        Console.WriteLine($"\nboth proposals are chosen, each in its own slot, identically on every learner; the journal is {db}");
        return 0;
    }

    private static void PrintExchange(AgentId from, Outgoing e)
    {
        if (e.Message is ILocalInput) return; // between agents of one node: not the protocol
        string what = e.Message switch
        {
            Prepare p => $"Prepare(ballot {p.Ballot}, slots {p.FromSlot}+)",
            Promise p => $"Promise(ballot {p.Ballot}{(p.Entries.IsEmpty ? ", nothing accepted" : ", accepted " + string.Join(" ", p.Entries.Select(x => $"[slot {x.Slot}: {Text(x.Value)} at {x.Ballot}]")))})",
            Accept a => $"Accept(ballot {a.Ballot}, slot {a.Slot}, {Text(a.Value)})",
            Accepted a => $"Accepted(ballot {a.Ballot}, slot {a.Slot})",
            Nack n => $"Nack(ballot {n.Rejected}: promised {n.Promised})",
            Chosen c => $"Chosen(slot {c.Slot}, {Text(c.Value)})",
            RoundQuery => "RoundQuery(no journaled round: what have you promised?)",
            RoundReport r => $"RoundReport(promised {r.Promised})",
            _ => e.Message.GetType().Name,
        };
        if (e.Message is Chosen && e.To.Agent == Agent.Proposer) return; // the learner telling its own proposer
        Console.WriteLine($"{from,-11} -> {e.To,-11} {what}");
    }

    private static string Text(SlotValue v) =>
        v.IsNoOp ? "no-op" : string.Join("+", v.Commands.Select(c => $"\"{Encoding.UTF8.GetString(c.Span)}\""));

    private sealed class PrintingStateMachine(int node, ConcurrentDictionary<int, ConcurrentDictionary<long, string>> applied) : IStateMachine
    {
        public void Apply(long slot, SlotValue value)
        {
            var log = applied.GetOrAdd(node, _ => new());
            log[slot] = value.IsNoOp ? "(no-op)" : Encoding.UTF8.GetString(value.Commands[0].Span);
        }
    }
}
