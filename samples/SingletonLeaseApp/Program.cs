// A one-node Paxos cluster inside an Akka.Hosting application, running a Cluster Singleton that Akka starts only
// once the Paxos lease is granted to this node (akka.cluster.singleton.use-lease). The singleton prints the fencing
// token the log gave its lease; the app then leaves the cluster and exits. Arguments: [port] [data-dir].
using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PaxosActors.Coordination;
using PaxosActors.Hosting;

int port = args.Length > 0 ? int.Parse(args[0]) : 4061;
string dataDir = args.Length > 1 ? args[1] : "./data";
var started = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);

var host = Host.CreateDefaultBuilder()
    .ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
    .ConfigureServices(services => services.AddAkka("paxos", (akka, _) => akka
        .AddHocon(ConfigurationFactory.ParseString($$"""
            akka.loglevel = WARNING
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
            akka.cluster.singleton.use-lease = "akka.coordination.lease.paxos"
            """), HoconAddMode.Prepend)
        .WithPaxos(paxos =>
        {
            paxos.NodeId = 1;
            paxos.Acceptors = [1];
            paxos.DataDir = dataDir;
            paxos.Seeds = $"127.0.0.1:{port}";
            paxos.Roles = ["acceptor", "proposer", "learner", LeaseRole.RoleName];
            paxos.WithRole<LeaseRole>();
        })
        .WithActors((system, _) => system.ActorOf(ClusterSingletonManager.Props(
            Props.Create(() => new Guarded(started)), PoisonPill.Instance, ClusterSingletonManagerSettings.Create(system)), "guarded"))))
    .Build();

await host.StartAsync();
try
{
    Console.WriteLine(await started.Task.WaitAsync(TimeSpan.FromSeconds(60)));
}
finally
{
    await host.StopAsync();
}
return 0;

/// <summary>The singleton: it runs only while this node holds the Paxos lease, and says with which fencing token.</summary>
sealed class Guarded : ReceiveActor
{
    public Guarded(TaskCompletionSource<string> started)
    {
        var self = Akka.Cluster.Cluster.Get(Context.System).SelfAddress;
        var node = PaxosNodeExtension.Get(Context.System).Node.Result; // started before the singleton's lease could be granted
        var leases = node.Service<LeaseService>()!.View.Current.Leases;
        var mine = leases.First(l => l.Value.Owner.EndsWith($":{self.Port}", StringComparison.Ordinal));
        started.TrySetResult($"singleton started under Paxos lease '{mine.Key}' with fencing token {mine.Value.Token} (granted in slot {mine.Value.GrantedInSlot})");
        ReceiveAny(_ => { });
    }
}
