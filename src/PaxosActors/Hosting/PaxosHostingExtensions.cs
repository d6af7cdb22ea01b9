using Akka.Hosting;

namespace PaxosActors.Hosting;

/// <summary>Akka.Hosting support: Paxos inside an application's own ActorSystem.</summary>
public static class PaxosHostingExtensions
{
    /// <summary>
    /// Runs a Paxos node in this ActorSystem: the agents and roles named in <c>akka.cluster.roles</c> start once the
    /// ActorSystem has. <paramref name="configure"/> sets typed options that win over the HOCON (which still works, from
    /// <c>AddHocon</c> or a file), and registers roles in code (<see cref="PaxosOptions.WithRole{TRole}"/>).
    /// </summary>
    /// <remarks>
    /// The node's id travels as a cluster role (<c>node-{id}</c>) that this adds to <c>akka.cluster.roles</c>, so the
    /// roles must be known when this is called: from <see cref="PaxosOptions.Roles"/>, or from HOCON added before it.
    /// Cluster roles set after it (<c>WithClustering</c>'s <c>ClusterOptions.Roles</c>, say) replace the id role, and the
    /// node then refuses to start, saying so. Every setting is checked here, when the ActorSystem is configured.
    /// The application keeps its own cluster settings, split brain resolver and default persistence plugins; the
    /// agents use the plugins <c>paxos.persistence</c> names (by default their own SQLite file in
    /// <c>paxos.data-dir</c>). The ActorSystem's provider must be <c>cluster</c>.
    /// </remarks>
    public static AkkaConfigurationBuilder WithPaxos(this AkkaConfigurationBuilder builder, Action<PaxosOptions>? configure = null)
    {
        var options = new PaxosOptions();
        configure?.Invoke(options);
        var typed = options.ToConfig();
        var sofar = builder.Configuration.HasValue ? builder.Configuration.Value : Akka.Configuration.ConfigurationFactory.ParseString("");
        var plan = PaxosNodeHost.Plan(typed.WithFallback(sofar), options.Registry, hosted: true);
        builder.AddHocon(typed, HoconAddMode.Prepend);
        // The node is then found through PaxosNodeExtension.Get(system).Node.
        return builder.WithPaxos(plan, started: null);
    }

    /// <summary>
    /// What every node start does, the node executable's (<see cref="PaxosNodeHost.Start"/>) and an application's alike:
    /// the plan's configuration around the builder's, then the agents and roles once the ActorSystem has started.
    /// <paramref name="started"/>, when given, hears the node or why it failed (instead of the exception reaching
    /// Akka.Hosting's start-up).
    /// </summary>
    internal static AkkaConfigurationBuilder WithPaxos(this AkkaConfigurationBuilder builder, NodePlan plan, TaskCompletionSource<PaxosNodeHost>? started)
    {
        builder.AddHocon(plan.Overrides, HoconAddMode.Prepend);
        builder.AddHocon(plan.Defaults, HoconAddMode.Append);
        if (plan.Tls is { } tls) builder.AddSetup(tls.RemotingSetup());
        builder.AddStartup((system, _) =>
        {
            if (started is null)
            {
                PaxosNodeHost.Attach(system, plan);
                return;
            }
            try
            {
                started.TrySetResult(PaxosNodeHost.Attach(system, plan));
            }
            catch (Exception e)
            {
                started.TrySetException(e);
            }
        });
        return builder;
    }
}
