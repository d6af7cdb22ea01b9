using Microsoft.AspNetCore.Http;
using PaxosActors.Hosting;

namespace PaxosActors.Http;

/// <summary>The node a role's HTTP handler runs on, as of the request: null members while the node's ActorSystem starts or
/// restarts (answer <see cref="Unavailable"/> then).</summary>
public sealed class RoleNode(string role, Func<NodeContext?> current)
{
    /// <summary>The role's name.</summary>
    public string Role { get; } = role;

    /// <summary>The running node, or null while it (re)starts.</summary>
    public NodeContext? Context => current();

    /// <summary>This role's current object (of the running start), or null.</summary>
    public TRole? Current<TRole>() where TRole : class, INodeRole => Context?.Role(Role) as TRole;

    /// <summary>A service a role of the running node registered (<see cref="NodeContext.AddService{T}"/>), or null.</summary>
    public T? Service<T>() where T : class => Context?.Service<T>();

    /// <summary>503 <c>{"error": "..."}</c>: the node is starting or restarting, or the role is not ready.</summary>
    public static IResult Unavailable(string why = "this node is starting or restarting") => Error(503, why);

    /// <summary>A JSON error <c>{"error": "..."}</c> with <paramref name="status"/>, as every endpoint of the node answers.</summary>
    public static IResult Error(int status, string message) => Results.Json(new ErrorBody(message), statusCode: status);

    private sealed record ErrorBody(string Error);
}
