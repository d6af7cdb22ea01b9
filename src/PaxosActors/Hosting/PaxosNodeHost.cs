using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
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
    /// <remarks>The ActorSystem is made as an application's is, by Akka.Hosting with <c>WithPaxos</c>, in a host of its own
    /// (one per start: a node the cluster downed gets a new one, see <see cref="NodeRunner"/>) that leaves the process's
    /// signals to the caller. One way to start a node, whoever starts it.</remarks>
    public static PaxosNodeHost Start(Config config, RoleRegistry? registry = null)
    {
        var plan = Plan(config, registry, ClusterDefaults);
        var started = new TaskCompletionSource<PaxosNodeHost>(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new HostBuilder()
            .ConfigureServices(services =>
            {
                services.AddSingleton<IHostLifetime, CallerOwnsLifetime>();
                services.AddAkka(SystemName, akka => akka.AddHocon(config, HoconAddMode.Prepend).WithPaxos(plan, started));
            })
            .Build();
        PaxosNodeHost node;
        try
        {
            host.StartAsync().GetAwaiter().GetResult();
            node = started.Task.GetAwaiter().GetResult();
        }
        catch
        {
            host.Dispose();
            throw;
        }
        // The host lives as long as its ActorSystem: Akka.Hosting stops it when the system terminates.
        node.System.WhenTerminated.ContinueWith(async _ =>
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
            host.Dispose();
        }, TaskScheduler.Default);
        return node;
    }

    /// <summary>No Ctrl-C or SIGTERM hooks: the program that starts nodes (several, in tests) owns the process.</summary>
    private sealed class CallerOwnsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// What a node adds to <paramref name="config"/> before its ActorSystem exists: <see cref="NodePlan.Overrides"/> (the
    /// cluster roles with this node's id role, the seed nodes, the SQLite journal) and <see cref="NodePlan.Defaults"/>
    /// (each role's reference.conf, then <paramref name="clusterDefaults"/>, then the library's). The node executable uses
    /// the cluster defaults it ships; an application that hosts Paxos in its own ActorSystem (Akka.Hosting's
    /// <c>WithPaxos</c>, <paramref name="hosted"/>) keeps its own, and its default persistence plugins too: the agents
    /// name theirs (<c>paxos.persistence</c>). Every setting is checked here.
    /// </summary>
    public static NodePlan Plan(Config config, RoleRegistry? registry, Config? clusterDefaults = null, bool hosted = false)
    {
        // Config.Empty cannot be anyone's fallback twice: an absent layer is a fresh empty one.
        clusterDefaults ??= ConfigurationFactory.ParseString("");
        var withDefaults = config.WithFallback(clusterDefaults).WithFallback(PaxosSettings.DefaultConfig);
        var roleNames = withDefaults.GetStringList("akka.cluster.roles").Where(r => !ClusterDirectory.IsAnnouncement(r)).Distinct().ToList();
        var roles = RoleRegistry.FromConfig(withDefaults, registry).Create(roleNames);
        // Each role's reference.conf sits under the node's configuration and above the library's defaults, as Akka's do.
        // (Roles of one assembly share its reference.conf, and a Config cannot be in its own fallback chain twice.)
        var defaults = roles.Select(role => role.ReferenceConfig).Where(c => !c.IsEmpty).Distinct(ReferenceEqualityComparer.Instance).Cast<Config>()
            .Aggregate(ConfigurationFactory.ParseString(""), (c, reference) => c.WithFallback(reference))
            .WithFallback(clusterDefaults).WithFallback(PaxosSettings.DefaultConfig);
        var full = config.WithFallback(defaults);
        var settings = PaxosSettings.Create(full);
        CommandSettings.Create(full);
        // An acceptor outside paxos.acceptors (the first membership of a new cluster) is legitimate: it waits to be added
        // to the acceptor set through the log (README, "Changing the acceptor set").

        JournalUnreadableException? unreadable = null;
        var plugins = PersistencePlugins.From(full);
        var journal = ConfigurationFactory.ParseString("");
        if (plugins.BuiltIn)
        {
            // The agents name their plugins: the node's SQLite file, or, when it cannot be read, Akka's in-memory ones.
            try
            {
                SqliteJournal.Prepare(settings.DatabasePath);
                journal = Ids(SqliteJournal.JournalPluginId, SqliteJournal.SnapshotPluginId)
                    .WithFallback(SqliteJournal.Config(settings.DatabasePath, asDefault: !hosted));
            }
            catch (JournalUnreadableException e)
            {
                unreadable = e;
                journal = Ids("akka.persistence.journal.inmem", "akka.persistence.snapshot-store.inmem")
                    .WithFallback(hosted ? ConfigurationFactory.ParseString("") : SqliteJournal.InMemoryConfig);
            }
        }
        // Remoting over mutual TLS when paxos.tls says so (README, "Running securely"): its HOCON here, its setup
        // (the certificates and the validator) added to the ActorSystem's by WithPaxos.
        var tls = TlsSettings.Create(full);
        var overrides = ConfigurationFactory.ParseString(
                $"akka.cluster.roles = {HoconString.QuoteList(roleNames.Concat(ClusterDirectory.Announcements(settings)))}\n" +
                SeedNodes(full))
            .WithFallback(journal)
            .WithFallback(tls is null ? ConfigurationFactory.ParseString("") : TlsSettings.RemotingConfig);
        return new NodePlan(overrides, defaults, roles, roleNames, unreadable) { Tls = tls };
    }

    /// <summary>
    /// Starts the Paxos agents and the roles of <paramref name="plan"/> in <paramref name="system"/>, whose configuration
    /// holds the plan's (<see cref="Plan"/>). The settings are read from the ActorSystem's own configuration, so HOCON
    /// and typed options meet where Akka's modules meet them.
    /// </summary>
    public static PaxosNodeHost Attach(ActorSystem system, NodePlan plan)
    {
        var systemConfig = system.Settings.Config;
        var settings = PaxosSettings.Create(systemConfig);
        var commandSettings = CommandSettings.Create(systemConfig);
        // Process-wide and never turned off by a node: see HopTrace.
        if (systemConfig.GetBoolean("paxos.diagnostics.trace-hops", false) || HopTrace.OnInEnvironment) HopTrace.Enable();
        var roles = plan.Roles;
        var roleNames = plan.RoleNames;
        var agents = AgentRoles.From(roleNames);
        string nodeRole = $"{ClusterDirectory.NodeRolePrefix}{settings.NodeId}";
        if (!Akka.Cluster.Cluster.Get(system).SelfRoles.Contains(nodeRole))
            throw new ConfigurationException($"akka.cluster.roles: this node (paxos.node-id = {settings.NodeId}) must carry the role {nodeRole}, " +
                                             $"which PaxosActors adds; something set the roles after it (it has {string.Join(", ", Akka.Cluster.Cluster.Get(system).SelfRoles)})");
        var context = new NodeContext(system, systemConfig, settings, new AgentDirectory(system.Log), roleNames.ToHashSet(), commandSettings)
        {
            RoleInstances = roles,
            Tls = plan.Tls,
        };
        foreach (var expiry in plan.Tls?.Expiry(DateTime.UtcNow) ?? [])
            if (expiry.Warning is { } warning) system.Log.Warning("node {0}: {1}", settings.NodeId, warning);
        try
        {
            if (plan.Unreadable is { } unreadable) agents = WithoutJournal(context, unreadable, agents);
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
            if (plan.Unreadable is null && settings.JournalProbeInterval > TimeSpan.Zero)
                system.ActorOf(RoleSupervisor.Props(JournalProbe.Props(settings.NodeId, settings.JournalProbeInterval), "probe",
                    settings.JournalProbeInterval, settings.JournalProbeInterval, settings.SupervisionRandomFactor), "journal-probe");
            StopRolesWithTheSystem(context);
            PaxosNodeExtension.Register(system, context);
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

    private static Config Ids(string journal, string snapshots) => ConfigurationFactory.ParseString(
        $"paxos.persistence {{ journal-plugin = {HoconString.Quote(journal)}, snapshot-plugin = {HoconString.Quote(snapshots)} }}");

    /// <summary>Leaves the cluster gracefully and stops the ActorSystem.</summary>
    public Task StopAsync() => CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClrExitReason.Instance);

    /// <summary><c>paxos.seeds</c> ("host:port,host:port"), when set, replaces <c>akka.cluster.seed-nodes</c>.</summary>
    private static string SeedNodes(Config config)
    {
        var seeds = SeedList.Parse(config.GetString("paxos.seeds", ""), SystemName, TlsSettings.Scheme(config));
        return seeds.Count == 0 ? "" : $"akka.cluster.seed-nodes = {HoconString.QuoteList(seeds)}";
    }
}
