using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using PaxosActors.Hosting;

namespace PaxosActors.Http;

/// <summary>What the node executable does with its roles' HTTP side: maps each <see cref="IHttpRole"/>'s routes under its
/// prefix, and collects every role's <see cref="INodeRole.Status"/> for <c>/status</c>.</summary>
public static class RoleEndpoints
{
    /// <summary>Paths the node itself serves; no role may take them.</summary>
    public static readonly IReadOnlyList<string> Reserved = ["/kv", "/cas", "/status", "/admin"];

    /// <summary>Maps the routes of every <see cref="IHttpRole"/> among <paramref name="roles"/> (the first start's objects);
    /// handlers reach the node through <paramref name="current"/>. Returns the prefixes mapped, by role.</summary>
    /// <exception cref="ConfigurationException">A prefix is malformed, reserved, or taken by another role.</exception>
    public static IReadOnlyDictionary<string, string> Map(IEndpointRouteBuilder app, IEnumerable<INodeRole> roles, Func<NodeContext?> current)
    {
        var mapped = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var role in roles.OfType<IHttpRole>())
        {
            string prefix = role.RoutePrefix.TrimEnd('/');
            if (!prefix.StartsWith('/') || prefix.Length < 2 || prefix.Contains("//") || prefix.Contains('{'))
                throw new ConfigurationException($"role {role.Name}: its route prefix '{role.RoutePrefix}' is not a path like /roles/{role.Name}");
            if (Reserved.FirstOrDefault(r => Within(prefix, r) || Within(r, prefix)) is { } reserved)
                throw new ConfigurationException($"role {role.Name}: its route prefix {prefix} overlaps the node's own {reserved}");
            if (mapped.FirstOrDefault(m => Within(prefix, m.Value) || Within(m.Value, prefix)) is { Key: { } other } taken)
                throw new ConfigurationException($"role {role.Name}: its route prefix {prefix} overlaps role {other}'s {taken.Value}");
            role.MapRoutes(app.MapGroup(prefix), new RoleNode(role.Name, current));
            mapped[role.Name] = prefix;
        }
        return mapped;
    }

    /// <summary>Every role's <see cref="INodeRole.Status"/> that is not null, as JSON by role name (in name order); a role
    /// whose Status throws shows <c>{"error": "..."}</c>.</summary>
    public static JsonObject Status(NodeContext node, JsonSerializerOptions? options = null)
    {
        options ??= SnakeCase;
        var statuses = new JsonObject();
        foreach (var role in node.RoleInstances.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            try
            {
                if (role.Status(node) is { } status) statuses[role.Name] = JsonSerializer.SerializeToNode(status, status.GetType(), options);
            }
            catch (Exception e)
            {
                statuses[role.Name] = new JsonObject { ["error"] = $"{e.GetType().Name}: {e.Message}" };
            }
        }
        return statuses;
    }

    /// <summary>The node's JSON style: snake_case names, as <c>/status</c> uses.</summary>
    public static JsonSerializerOptions SnakeCase { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static bool Within(string path, string prefix) =>
        path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);
}
