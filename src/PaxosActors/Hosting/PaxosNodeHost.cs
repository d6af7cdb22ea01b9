using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using PaxosActors.Actors;
using PaxosActors.Configuration;
using PaxosActors.Diagnostics;
using PaxosActors.Replication;
using PaxosActors.Persistence;
using PaxosActors.Routing;
using PaxosActors.Security;

namespace PaxosActors.Hosting;

/// <summary>
/// One PaxosActors node: an ActorSystem that is an Akka.Cluster member, its SQLite journal, its Paxos
/// actors and the roles named in <c>akka.cluster.roles</c>. A node whose SQLite file cannot be read starts
/// without it and without its acceptor (see <see cref="WithoutJournal"/>).
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
    public static Config ClusterDefaults { get; } = EmbeddedConfig.Load(typeof(PaxosNodeHost).Assembly, "PaxosActors.cluster.conf");

    /// <summary>Starts a node from <paramref name="config"/>; every setting is checked before anything starts. Its roles
    /// are those of <paramref name="registry"/> and those <c>paxos.roles</c> maps.</summary>
    public static PaxosNodeHost Start(Config config, RoleRegistry? registry = null)
    {
        var withDefaults = config.WithFallback(ClusterDefaults).WithFallback(PaxosSettings.DefaultConfig);
        var roleNames = withDefaults.GetStringList("akka.cluster.roles").Where(r => !r.StartsWith(ClusterDirectory.NodeRolePrefix)).Distinct().ToList();
        var roles = RoleRegistry.FromConfig(withDefaults, registry).Create(roleNames);
        // Each role's reference.conf sits under the node's configuration and above the library's defaults, as Akka's do.
        var full = roles.Aggregate(config, (c, role) => c.WithFallback(role.ReferenceConfig))
            .WithFallback(ClusterDefaults).WithFallback(PaxosSettings.DefaultConfig);
        var settings = PaxosSettings.Create(full);
        var commandSettings = CommandSettings.Create(full);
        var agents = AgentRoles.From(roleNames);
        // An acceptor outside paxos.acceptors (the first membership of a new cluster) is legitimate: it waits to be added
        // to the acceptor set through the log (README, "Changing the acceptor set").

        JournalUnreadableException? unreadable = null;
        try
        {
            SqliteJournal.Prepare(settings.DatabasePath);
        }
        catch (JournalUnreadableException e)
        {
            unreadable = e;
        }
        var tls = TlsSettings.Create(full);
        var systemConfig = ConfigurationFactory.ParseString(
                $"akka.cluster.roles = {HoconString.QuoteList(roleNames.Append($"{ClusterDirectory.NodeRolePrefix}{settings.NodeId}"))}\n" +
                SeedNodes(full))
            .WithFallback(tls is null ? Config.Empty : TlsSettings.RemotingConfig)
            .WithFallback(unreadable is null ? SqliteJournal.Config(settings.DatabasePath) : SqliteJournal.InMemoryConfig)
            .WithFallback(full);

        var bootstrap = BootstrapSetup.Create().WithConfig(systemConfig);
        var system = tls is null ? ActorSystem.Create(SystemName, bootstrap) : ActorSystem.Create(SystemName, bootstrap.And(tls.RemotingSetup()));
        var context = new NodeContext(system, systemConfig, settings, new AgentDirectory(system.Log), roleNames.ToHashSet(), commandSettings)
        {
            RoleInstances = roles,
            Tls = tls,
        };
        foreach (var expiry in tls?.Expiry(DateTime.UtcNow) ?? [])
            if (expiry.Warning is { } warning) system.Log.Warning("node {0}: {1}", settings.NodeId, warning);
        try
        {
            if (unreadable is not null) agents = WithoutJournal(context, unreadable, agents);
            foreach (var role in roles)
            {
                context.StateMachines.ConfiguringRole = role.Name;
                Call(role, "Configure", () => role.Configure(context));
            }
            context.StateMachines.Seal();
            var registrations = context.StateMachines.Registrations;
            context.Paxos = PaxosNode.Start(system, settings, context.Directory,
                learner => new CompositeStateMachine(registrations, commandSettings.SessionExpirySlots, context.Applied, context.Commands,
                    learner.GetLogger(), settings.NodeId),
                agents, context.Health);
            // A command's result comes from this node's learner: without one, nothing would ever answer.
            context.Commands.Attach(context.Paxos.Learner is null ? null : context.Paxos.Proposer);
            system.ActorOf(ClusterDirectory.Props(context.Directory, settings.NodeId), "paxos-directory");
            // Only on the node's own file: the in-memory journal of a node without one cannot fill up.
            if (unreadable is null && settings.JournalProbeInterval > TimeSpan.Zero)
                system.ActorOf(RoleSupervisor.Props(JournalProbe.Props(settings.NodeId, settings.JournalProbeInterval), "probe",
                    settings.JournalProbeInterval, settings.JournalProbeInterval, settings.SupervisionRandomFactor), "journal-probe");
            StopRolesWithTheSystem(context);
            foreach (var role in roles) Call(role, "Start", () => role.Start(context));
            // The roles subscribed in Configure or Start: now they get what the learner recovered meanwhile, then the rest.
            context.Applied.Open();
        }
        catch
        {
            system.Terminate().Wait(TimeSpan.FromSeconds(10));
            throw;
        }
        return new PaxosNodeHost(context);
    }

    /// <summary>A role's Configure or Start: whatever it throws fails the node's start as a configuration error that names
    /// the role (the executable exits with code 2 and the message, not a stack trace).</summary>
    private static void Call(INodeRole role, string what, Action call)
    {
        try
        {
            call();
        }
        catch (ConfigurationException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new ConfigurationException($"role {role.Name} ({role.GetType().FullName}): {what} threw {e.GetType().Name}: {e.Message}", e);
        }
    }

    /// <summary>Calls every role's <see cref="INodeRole.Stop"/> once, in reverse order: in coordinated shutdown's service-stop
    /// phase (the roles' actors still run), or once the ActorSystem terminated if it ended without coordinated shutdown.</summary>
    private static void StopRolesWithTheSystem(NodeContext context)
    {
        int stopped = 0;
        void StopRoles()
        {
            if (Interlocked.Exchange(ref stopped, 1) == 1) return;
            foreach (var role in context.RoleInstances.Reverse())
            {
                try
                {
                    role.Stop(context);
                }
                catch (Exception e)
                {
                    context.System.Log.Error(e, "node {0}: role {1} failed to stop: {2}", context.Settings.NodeId, role.Name, e.Message);
                }
            }
        }
        CoordinatedShutdown.Get(context.System).AddTask(CoordinatedShutdown.PhaseServiceStop, "paxos-roles-stop", () =>
        {
            StopRoles();
            return Task.FromResult(Done.Instance);
        });
        context.System.WhenTerminated.ContinueWith(_ => StopRoles(), TaskScheduler.Default);
    }

    /// <summary>
    /// The node's SQLite file cannot be read. Rather than exit (and, under a process manager, fail the same way
    /// again and again), the node starts without it, so that /status and the log can say what is wrong:
    /// <list type="bullet">
    /// <item>the acceptor does not run at all in this process. It cannot know what it promised and voted, so it
    /// must not vote; it does not answer the other acceptors' start-up questions either, since an answer from a
    /// blank state ("I do not know you", or recording a new voter in memory) would be worthless. To the others
    /// it is simply down. /status shows it refusing, with the reason.</item>
    /// <item>the proposer and learner run on Akka's in-memory journal, which is what they would have after a
    /// deleted file: the learner catches up from its peers, and the node serves requests through the others'
    /// acceptors.</item>
    /// </list>
    /// Nothing in the process opens the file again (<see cref="SqliteJournal.Prepare"/> remembers it), so a
    /// restart of the ActorSystem comes back the same way. Returns the Paxos agents to start.
    /// </summary>
    private static PaxosAgents WithoutJournal(NodeContext context, JournalUnreadableException unreadable, PaxosAgents agents)
    {
        context.JournalError = $"{unreadable.Message}. {unreadable.Advice}";
        context.System.Log.Error("node {0}: {1}; the node runs without it: {2}its proposer and learner start from empty " +
                                 "in-memory journals. {3}",
            context.Settings.NodeId, unreadable.Message,
            agents.HasFlag(PaxosAgents.Acceptor) ? "its acceptor does not vote in this process, " : "", unreadable.Advice);
        if (!agents.HasFlag(PaxosAgents.Acceptor)) return agents;
        context.Health.SetAcceptor(false, $"refusing: {unreadable.Message}; it will not vote in this process. {unreadable.Advice}");
        context.Metrics.AcceptorRefusing();
        return agents & ~PaxosAgents.Acceptor;
    }

    /// <summary>Leaves the cluster gracefully and stops the ActorSystem.</summary>
    public Task StopAsync() => CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);

    /// <summary><c>paxos.seeds</c> ("host:port,host:port"), when set, replaces <c>akka.cluster.seed-nodes</c>.</summary>
    private static string SeedNodes(Config config)
    {
        var seeds = SeedList.Parse(config.GetString("paxos.seeds", ""), SystemName, TlsSettings.Scheme(config));
        return seeds.Count == 0 ? "" : $"akka.cluster.seed-nodes = {HoconString.QuoteList(seeds)}";
    }
}
