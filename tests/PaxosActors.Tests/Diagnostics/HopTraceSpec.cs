using PaxosActors.Core.Protocol;
using PaxosActors.Diagnostics;

namespace PaxosActors.Tests.Diagnostics;

/// <summary>The recorder behind <c>paxos.diagnostics.trace-hops</c>: off, nothing is recorded; on, each point keeps a
/// timestamp, the thread, the node and its slot. (One class: the recorder is process-wide, so its tests do not run in
/// parallel with each other.)</summary>
public sealed class HopTraceSpec : IDisposable
{
    public void Dispose() => HopTrace.Disable();

    [Fact]
    public void Off_nothing_is_recorded()
    {
        HopTrace.Disable();
        HopTrace.Mark("hop-trace-spec-off", 1);
        HopTrace.Message("send", new Accepted(new Ballot(1, 1), 7, 1), AgentId.Acceptor(1), AgentId.Learner(2));
        Assert.False(HopTrace.Enabled);
        Assert.Empty(HopTrace.Snapshot());
        Assert.Single(HopTrace.Dump().Split('\n', StringSplitOptions.RemoveEmptyEntries)); // the header only
    }

    [Fact]
    public void On_each_point_keeps_time_thread_node_and_slot()
    {
        HopTrace.Enable();
        long before = System.Diagnostics.Stopwatch.GetTimestamp();
        HopTrace.Mark("hop-trace-spec-on", 5, node: 3, extra: 9);
        HopTrace.Message("send", new Accepted(new Ballot(1, 41), 987_654_321, 41), AgentId.Acceptor(41), AgentId.Learner(42));
        HopTrace.Message("recv", new Heartbeat(new Ballot(1, 1), 3), AgentId.Proposer(1)); // not on the write path

        // Other tests of this assembly may run meanwhile and record their own hops: only these are looked at.
        var mine = HopTrace.Snapshot().Where(h => h.Name.StartsWith("hop-trace-spec") || h.Key == 987_654_321).ToList();
        Assert.Equal(2, mine.Count);
        Assert.Equal(new Hop(mine[0].Ticks, Environment.CurrentManagedThreadId, 3, "hop-trace-spec-on", 5, 9), mine[0]);
        Assert.True(mine[0].Ticks >= before && mine[1].Ticks >= mine[0].Ticks);
        Assert.Equal(("acceptor send Accepted>learner", 987_654_321L, 41, 42L), (mine[1].Name, mine[1].Key, mine[1].Node, mine[1].Extra));
        Assert.DoesNotContain(HopTrace.Snapshot(), h => h.Name.Contains("Heartbeat"));
        Assert.Contains("41 acceptor_send_Accepted>learner 987654321 42\n", HopTrace.Dump());

        HopTrace.Clear();
        Assert.DoesNotContain(HopTrace.Snapshot(), h => h.Name.StartsWith("hop-trace-spec"));
    }
}
