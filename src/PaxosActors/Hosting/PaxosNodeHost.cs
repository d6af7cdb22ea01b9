using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Cluster;
using PaxosActors.Configuration;
using PaxosActors.Core.Learners;
using PaxosActors.Core.Protocol;
using PaxosActors.Persistence;
using PaxosActors.Routing;

namespace PaxosActors.Hosting;

/// <summary>
/// One PaxosActors node: an ActorSystem that is an Akka.Cluster member, its SQLite journal, its Paxos
/// actors and the roles named in <c>akka.cluster.roles</c>.
/// </summary>
public sealed class PaxosNodeHost
{
    /// <summary>The ActorSystem name every node uses, so their addresses agree.</summary>
    public const string SystemName = "paxos";

    private PaxosNodeHost(NodeContext context) => Context = context;

    public NodeContext Context { get; }
    public ActorSystem System => Context.System;
    public PaxosSettings Settings => Context.Settings;

    /// <summary>Completes when the ActorSystem has terminated, whether stopped or downed by the cluster.</summary>
    public Task WhenTerminated => System.WhenTerminated;

    /// <summary>Cluster defaults (formation tuning, split brain resolver) shipped in the assembly.</summary>
    public static Config ClusterDefaults { get; } = LoadEmbedded("PaxosActors.cluster.conf");

    /// <summary>Starts a node from <paramref name="config"/>; every setting is checked before anything starts.</summary>
    public static PaxosNodeHost Start(Config config, RoleRegistry? registry = null)
    {
        var full = config.WithFallback(ClusterDefaults).WithFallback(PaxosSettings.DefaultConfig);
        var settings = PaxosSettings.Create(full);
        var roleNames = full.GetStringList("akka.cluster.roles").Where(r => !r.StartsWith(ClusterDirectory.NodeRolePrefix)).Distinct().ToList();
        var roles = (registry ?? RoleRegistry.FromConfig(full)).Create(roleNames);
        var paxosRoles = PaxosRoles.None;
        if (roleNames.Contains("acceptor"))
        {
            if (!settings.Acceptors.Contains(settings.NodeId))
                throw new ConfigurationException($"akka.cluster.roles: node {settings.NodeId} runs an acceptor but is not in paxos.acceptors");
            paxosRoles |= PaxosRoles.Acceptor;
        }
        if (roleNames.Contains("proposer")) paxosRoles |= PaxosRoles.Proposer;
        if (roleNames.Contains("learner")) paxosRoles |= PaxosRoles.Learner;

        SqliteJournal.Prepare(settings.DatabasePath);
        var systemConfig = ConfigurationFactory.ParseString(
                $"akka.cluster.roles = [{string.Join(", ", roleNames.Append($"{ClusterDirectory.NodeRolePrefix}{settings.NodeId}").Select(r => $"\"{r}\""))}]\n" +
                SeedNodes(full))
            .WithFallback(SqliteJournal.Config(settings.DatabasePath))
            .WithFallback(full);

        var system = ActorSystem.Create(SystemName, systemConfig);
        var context = new NodeContext(system, systemConfig, settings, new RoleDirectory(), roleNames.ToHashSet());
        try
        {
            foreach (var role in roles) role.Configure(context);
            context.Paxos = PaxosNode.Start(system, settings, context.Directory,
                context.StateMachine ?? (_ => new DiscardingStateMachine()), paxosRoles, context.Health);
            system.ActorOf(ClusterDirectory.Props(context.Directory, settings.NodeId), "paxos-directory");
            foreach (var role in roles) role.Start(context);
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
        return new PaxosNodeHost(context);
    }

    /// <summary>Leaves the cluster gracefully and stops the ActorSystem.</summary>
    public Task StopAsync() => CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);

    /// <summary><c>paxos.seeds</c> ("host:port,host:port"), when set, replaces <c>akka.cluster.seed-nodes</c>.</summary>
    private static string SeedNodes(Config config)
    {
        string seeds = config.GetString("paxos.seeds", "");
        if (string.IsNullOrWhiteSpace(seeds)) return "";
        var list = seeds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s.Contains("://") ? s : $"akka.tcp://{SystemName}@{s}");
        return $"akka.cluster.seed-nodes = [{string.Join(", ", list.Select(s => $"\"{s}\""))}]";
    }

    private static Config LoadEmbedded(string name)
    {
        using var stream = typeof(PaxosNodeHost).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"{name} is not embedded");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>For a node without a state-machine role: chosen values are learned and dropped.</summary>
    private sealed class DiscardingStateMachine : IStateMachine
    {
        public void Apply(long slot, SlotValue value) { }
    }
}
