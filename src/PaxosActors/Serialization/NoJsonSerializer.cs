using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;

namespace PaxosActors.Serialization;

/// <summary>
/// Takes the place of Akka's Newtonsoft JSON serializer (name <c>json</c>, id 1, the default for <c>System.Object</c>) in a
/// cluster node (cluster.conf): it serializes and deserializes nothing. A remote message of a type no binary serializer is
/// bound to fails at the sender, naming its type, instead of crossing the wire as JSON; and a frame that arrives marked as
/// JSON is dropped instead of handing a peer's type names to Newtonsoft (which would create whatever type it is told to).
/// Only the explicit bindings remain: ours (<see cref="PaxosSerializer"/>) and Akka's own for its system and cluster messages.
/// </summary>
public sealed class NoJsonSerializer(ExtendedActorSystem system) : Serializer(system)
{
    /// <summary>The constructor Akka calls for the <c>json</c> name (with <c>serialization-settings.json</c>, unused here).</summary>
    public NoJsonSerializer(ExtendedActorSystem system, Akka.Configuration.Config config) : this(system) => _ = config;

    public override bool IncludeManifest => true;

    public override byte[] ToBinary(object obj) =>
        throw new SerializationException(
            $"{obj?.GetType().FullName ?? "null"} has no binary serializer, and a node sends nothing as JSON: bind the type in " +
            "akka.actor.serialization-bindings (ours go to PaxosSerializer)");

    public override object FromBinary(byte[] bytes, Type type) =>
        throw new SerializationException($"refused a message serialized as JSON (type {type?.FullName ?? "unnamed"}): a node accepts none");
}
