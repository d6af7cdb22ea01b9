using PaxosActors.Tools.Chaos;
using PaxosActors.Tools.Commands;

namespace PaxosActors.Chaos.Tests;

/// <summary>
/// <c>chaos --node-config FILE</c>: the same faults against other node settings (a failure detector, the split brain
/// resolver). Every node is started with <c>--extra-config FILE</c>, a replay command keeps it, and a file that is not
/// there is refused before anything starts; <c>--log-level</c> likewise. No process is started here.
/// </summary>
public sealed class ChaosOptionsSpecs : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "paxos-chaos-options-" + Guid.NewGuid().ToString("N"));

    public ChaosOptionsSpecs() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Node_config_is_read_as_a_full_path_kept_by_the_replay_command_and_given_to_every_node()
    {
        string file = Path.Combine(_dir, "sbr.hocon");
        File.WriteAllText(file, "akka.cluster.split-brain-resolver.stable-after = 20s\n");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, file);

        var options = ChaosCommand.Parse(["--seed", "7", "--node-config", relative]);

        Assert.Equal(file, options.NodeConfig);
        Assert.EndsWith($" --node-config {file}", options.ReplayCommand(42, TimeSpan.FromSeconds(60)));
        using var http = new HttpClient();
        using var cluster = new ChaosCluster(3, "multi", Path.Combine(_dir, "run"), new KvClient(http), spares: 1, nodeConfig: options.NodeConfig);
        Assert.Equal(4, cluster.Nodes.Count);
        foreach (var node in cluster.Nodes)
            Assert.Equal(["--extra-config", file], node.Launch.ExtraArgs);
    }

    [Fact]
    public void Without_node_config_nodes_get_no_extra_arguments_and_the_replay_command_names_none()
    {
        var options = ChaosCommand.Parse(["--seed", "7"]);

        Assert.Null(options.NodeConfig);
        Assert.DoesNotContain("--node-config", options.ReplayCommand(42, TimeSpan.FromSeconds(60)));
        using var http = new HttpClient();
        using var cluster = new ChaosCluster(3, "multi", Path.Combine(_dir, "run"), new KvClient(http));
        foreach (var node in cluster.Nodes) Assert.Empty(node.Launch.ExtraArgs);
    }

    [Fact]
    public void Log_level_reaches_every_node_and_the_replay_command_and_defaults_to_warning()
    {
        var info = ChaosCommand.Parse(["--seed", "7", "--log-level", "info"]);
        var plain = ChaosCommand.Parse(["--seed", "7"]);

        Assert.Equal("INFO", info.LogLevel);
        Assert.EndsWith(" --log-level INFO", info.ReplayCommand(42, TimeSpan.FromSeconds(60)));
        Assert.Equal("WARNING", plain.LogLevel);
        Assert.DoesNotContain("--log-level", plain.ReplayCommand(42, TimeSpan.FromSeconds(60)));
        using var http = new HttpClient();
        using var cluster = new ChaosCluster(3, "multi", Path.Combine(_dir, "run"), new KvClient(http), logLevel: info.LogLevel);
        foreach (var node in cluster.Nodes) Assert.Equal("INFO", node.Launch.LogLevel);
        Assert.Throws<PaxosActors.Node.UsageException>(() => ChaosCommand.Parse(["--log-level", "chatty"]));
    }

    [Fact]
    public void A_node_config_file_that_is_not_there_is_refused_naming_it()
    {
        string missing = Path.Combine(_dir, "missing.hocon");

        var refused = Assert.Throws<PaxosActors.Node.UsageException>(() => ChaosCommand.Parse(["--node-config", missing]));

        Assert.Equal($"--node-config {missing}: no such file", refused.Message);
    }
}
