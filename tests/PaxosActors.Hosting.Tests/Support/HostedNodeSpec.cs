using Akka.Configuration;
using Akka.Hosting;
using PaxosActors.Configuration;
using PaxosActors.Coordination;
using PaxosActors.Hosting;
using PaxosActors.Node.Launch;

namespace PaxosActors.Hosting.Tests.Support;

/// <summary>
/// A one-node Paxos cluster inside an Akka.Hosting ActorSystem, configured as an application would: its own HOCON for
/// Akka, <c>WithPaxos</c> for Paxos (options, and the lease role registered in code), its own SQLite file in a fresh
/// temp folder, a free loopback port.
/// </summary>
public abstract class HostedNodeSpec : Akka.Hosting.TestKit.TestKit
{
    protected readonly int Port = FreePorts.Take();
    protected readonly string DataDir = Path.Combine(Path.GetTempPath(), "paxos-actors-hosting-tests", Guid.NewGuid().ToString("N"));

    protected HostedNodeSpec() : base(PaxosNodeHost.SystemName) { }

    /// <summary>The HOCON the application adds before <c>WithPaxos</c>.</summary>
    protected virtual string ApplicationHocon => "";

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider)
    {
        builder.AddHocon(ConfigurationFactory.ParseString(ApplicationHocon + $$"""

                akka.loglevel = WARNING
                akka.actor.provider = cluster
                akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{Port}} }
                akka.cluster.roles = [acceptor, proposer, learner, paxos-lease]
                akka.coordination.lease.paxos { heartbeat-interval = 200ms, heartbeat-timeout = 1500ms, lease-operation-timeout = 5s }
                """), HoconAddMode.Prepend)
            .WithPaxos(paxos =>
            {
                paxos.NodeId = 1;
                paxos.Acceptors = [1];
                paxos.DataDir = DataDir;
                paxos.Seeds = $"127.0.0.1:{Port}";
                paxos.WithRole<LeaseRole>();
            });
    }

    /// <summary>The node, once WithPaxos's start-up ran.</summary>
    protected async Task<NodeContext> NodeAsync() => await PaxosNodeExtension.Get(Sys).Node.WaitAsync(TimeSpan.FromSeconds(20));

    protected async Task<LeaseService> LeasesAsync() => (await NodeAsync()).Service<LeaseService>()!;
}
