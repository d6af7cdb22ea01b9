using Akka.Actor;

namespace PaxosActors.Hosting;

/// <summary>
/// Finds the Paxos node running in an ActorSystem, for what Akka creates on its own and hands only the ActorSystem
/// (a lease from <c>LeaseProvider</c>, say). The node registers itself when it starts (<see cref="PaxosNodeHost.Attach"/>).
/// </summary>
public sealed class PaxosNodeExtension : IExtension
{
    private readonly TaskCompletionSource<NodeContext> _node = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The node of <paramref name="system"/>, once it has started.</summary>
    public Task<NodeContext> Node => _node.Task;

    public static PaxosNodeExtension Get(ActorSystem system) => system.WithExtension<PaxosNodeExtension, PaxosNodeExtensionId>();

    internal static void Register(ActorSystem system, NodeContext context) => Get(system)._node.TrySetResult(context);

    private sealed class PaxosNodeExtensionId : ExtensionIdProvider<PaxosNodeExtension>
    {
        public override PaxosNodeExtension CreateExtension(ExtendedActorSystem system) => new();
    }
}
