using Microsoft.AspNetCore.Routing;
using PaxosActors.Hosting;

namespace PaxosActors.Http;

/// <summary>
/// A role that serves HTTP on the node's endpoint: the node executable maps its routes under <see cref="RoutePrefix"/>
/// (<c>/roles/&lt;name&gt;</c> by default) once, when the process starts. The role object changes with every start of
/// the node's ActorSystem (a restart after the cluster downed it), so a handler reaches the node through
/// <paramref name="node"/> at request time, never through the object that mapped it.
/// </summary>
public interface IHttpRole : INodeRole
{
    /// <summary>Where this role's routes live: a path of its own, not <c>/kv</c>, <c>/cas</c>, <c>/status</c>, <c>/admin</c>
    /// or another role's. Default <c>/roles/&lt;Name&gt;</c>.</summary>
    string RoutePrefix => $"/roles/{Name}";

    /// <summary>Maps this role's endpoints on <paramref name="routes"/> (a group at <see cref="RoutePrefix"/>): Minimal
    /// API, as any ASP.NET Core app. <paramref name="node"/> gives the running node and this role's current object.</summary>
    void MapRoutes(IEndpointRouteBuilder routes, RoleNode node);
}
