using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Configuration;
using PaxosActors.Cluster.Tests.Support;
using PaxosActors.Hosting;
using PaxosActors.Node.Launch;
using PaxosActors.Replication;

namespace PaxosActors.Cluster.Tests;

/// <summary>A role that records what the node calls on it, keyed by the <c>test.run</c> setting of its node.</summary>
public sealed class ContractRole : INodeRole
{
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<string>> Calls = new();

    public string Name => "contract";

    public Config ReferenceConfig => ConfigurationFactory.ParseString("""
        test.contract { greeting = from-reference, overridden = from-reference }
        """);

    private static void Record(NodeContext node, string call) =>
        Calls.GetOrAdd(node.Config.GetString("test.run"), _ => new()).Enqueue(call);

    public void Configure(NodeContext node) =>
        Record(node, $"configure {node.Config.GetString("test.contract.greeting")} {node.Config.GetString("test.contract.overridden")}");

    public void Start(NodeContext node) => Record(node, "start");

    public void Stop(NodeContext node) => Record(node, "stop");
}

/// <summary>Registers the state machine "shared" under its own role name.</summary>
public sealed class SharingRole(string name) : INodeRole
{
    public string Name => name;

    public void Configure(NodeContext node) => node.StateMachines.Register("shared", () => throw new InvalidOperationException("never built"));

    public void Start(NodeContext node) { }
}

/// <summary>A role whose Start fails, as a bug in a role would.</summary>
public sealed class BrokenRole : INodeRole
{
    public string Name => "broken";

    public void Start(NodeContext node) => throw new InvalidOperationException("the trail actor's name is taken");
}

/// <summary>The role contract beyond Start: its reference config, Configure, Stop; conflicts and load failures at start.</summary>
public sealed class RoleContractSpec : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-cluster-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }

    private PaxosNodeHost StartNode(string run, string roles, RoleRegistry registry)
    {
        var ports = FreePorts.Take(1);
        var config = InProcessCluster.NodeConfig(1, new Dictionary<int, int> { [1] = ports[0] }, _dataDir, "multi", $$"""
            test.run = "{{run}}"
            test.contract.overridden = from-node
            akka.cluster.roles = [{{roles}}]
            """);
        return PaxosNodeHost.Start(config, registry);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_role_gets_its_reference_config_under_the_nodes_then_Configure_Start_and_once_Stop_however_the_node_ends(bool graceful)
    {
        string run = Guid.NewGuid().ToString("N");
        var host = StartNode(run, "acceptor, proposer, learner, contract", new RoleRegistry().Add("contract", () => new ContractRole()));

        if (graceful) await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));
        else await host.System.Terminate().WaitAsync(TimeSpan.FromSeconds(20)); // no coordinated shutdown: a crash
        await host.WhenTerminated.WaitAsync(TimeSpan.FromSeconds(20));
        await Eventually.Holds(() =>
        {
            Assert.Equal(["configure from-reference from-node", "start", "stop"], ContractRole.Calls[run]);
            return Task.CompletedTask;
        }, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Two_roles_registering_one_state_machine_fail_the_start_naming_both()
    {
        var registry = new RoleRegistry().Add("first", () => new SharingRole("first")).Add("second", () => new SharingRole("second"));

        var e = Assert.Throws<ConfigurationException>(() => StartNode("conflict", "acceptor, proposer, learner, first, second", registry));

        Assert.Contains("roles first and second both register the state machine 'shared'", e.Message);
    }

    [Fact]
    public void A_role_that_throws_in_Start_fails_the_start_as_a_configuration_error_naming_it()
    {
        var e = Assert.Throws<ConfigurationException>(() =>
            StartNode("broken", "acceptor, proposer, learner, broken", new RoleRegistry().Add("broken", () => new BrokenRole())));

        Assert.Contains($"role broken ({typeof(BrokenRole).FullName}): Start threw InvalidOperationException: the trail actor's name is taken", e.Message);
    }

    /// <summary>A role assembly whose dependencies are not there: this test assembly, which needs xunit and the Akka
    /// TestKit, copied alone into a roles folder of the stock executable.</summary>
    [Fact]
    public async Task A_node_whose_roles_folder_holds_an_assembly_it_cannot_load_exits_naming_the_file_and_the_missing_dependency()
    {
        string roles = Path.Combine(_dataDir, "roles");
        Directory.CreateDirectory(roles);
        string copy = Path.Combine(roles, Path.GetFileName(typeof(RoleContractSpec).Assembly.Location));
        File.Copy(typeof(RoleContractSpec).Assembly.Location, copy);
        var ports = FreePorts.Take(2);
        var psi = NodeExecutable.StartInfo(["node", "--node-id", "1", "--http-port", $"{ports[0]}", "--remote-port", $"{ports[1]}",
            "--seeds", $"127.0.0.1:{ports[1]}", "--acceptors", "1", "--data-dir", _dataDir, "--roles-dir", roles]);
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw;
        }
        string errors = await stderr;

        Assert.True(p.ExitCode == 2, $"exit code {p.ExitCode}\nstdout: {await stdout}\nstderr: {errors}");
        Assert.Contains($"paxos.roles-dir: cannot load the types of {copy}", errors);
        Assert.Contains("a dependency cannot be found", errors);
    }
}
