using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Core.Protocol;
using PaxosActors.Hosting;
using PaxosActors.Serialization;

namespace PaxosActors.Tests.Serialization;

/// <summary>A cluster node's serialization (cluster.conf): nothing crosses the wire as JSON, either way.</summary>
public sealed class NoJsonSerializerSpec : IDisposable
{
    private sealed record NotBound(string Text);

    private sealed class Echo : ReceiveActor
    {
        public Echo() => ReceiveAny(m => Sender.Tell(m));
    }

    private readonly List<ActorSystem> _systems = [];

    private ActorSystem Node(string name)
    {
        var system = ActorSystem.Create(name, ConfigurationFactory.ParseString("""
                akka.loglevel = ERROR
                akka.remote.dot-netty.tcp.port = 0
                """).WithFallback(PaxosNodeHost.ClusterDefaults).WithFallback(PaxosSettings.DefaultConfig));
        _systems.Add(system);
        return system;
    }

    [Fact]
    public void The_default_for_object_and_serializer_id_1_refuse_instead_of_Newtonsoft()
    {
        var s = Node("nojson").Serialization;
        Assert.IsType<NoJsonSerializer>(s.FindSerializerForType(typeof(NotBound)));
        Assert.IsType<PaxosSerializer>(s.FindSerializerForType(typeof(Prepare)));
        Assert.Throws<SerializationException>(() => s.FindSerializerForType(typeof(NotBound)).ToBinary(new NotBound("x")));
        // A frame marked with serializer id 1 (JSON): what Newtonsoft would have turned into any type the sender names.
        Assert.Throws<SerializationException>(() =>
            s.Deserialize("{\"$type\":\"System.IO.FileInfo, System.IO.FileSystem\",\"fileName\":\"/etc/passwd\"}"u8.ToArray(), 1, "System.IO.FileInfo, System.IO.FileSystem"));
    }

    [Fact]
    public async Task A_paxos_message_crosses_to_another_node_and_an_unbound_type_does_not()
    {
        var a = Node("paxos");
        var b = Node("paxos");
        a.ActorOf(Props.Create(() => new Echo()), "echo");
        var address = ((ExtendedActorSystem)a).Provider.DefaultAddress;
        var echo = b.ActorSelection($"{address}/user/echo");

        var prepare = new Prepare(new Ballot(3, 2), 7);
        Assert.Equal(prepare, await echo.Ask<Prepare>(prepare, TimeSpan.FromSeconds(15)));
        await Assert.ThrowsAsync<AskTimeoutException>(() => echo.Ask<NotBound>(new NotBound("as json"), TimeSpan.FromSeconds(2)));
        // The association survived the refusal.
        Assert.Equal(prepare, await echo.Ask<Prepare>(prepare, TimeSpan.FromSeconds(15)));
    }

    public void Dispose()
    {
        foreach (var system in _systems) system.Terminate().Wait(TimeSpan.FromSeconds(10));
    }
}
