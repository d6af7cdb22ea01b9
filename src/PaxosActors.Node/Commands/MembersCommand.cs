namespace PaxosActors.Node.Commands;

/// <summary>
/// <c>members list|add ID|remove ID [--as learner] [--endpoint URL]</c>: the acceptor set of a running cluster, through
/// any node's <c>/admin/members</c> (README, "Changing the acceptor set"). Prints the node's JSON answer; exits 0 on
/// success, 1 when the node refused (with its reason), 2 on a usage error.
/// </summary>
public static class MembersCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0) throw new UsageException("members needs list, add ID or remove ID");
        string verb = args[0];
        int take = verb is "add" or "remove" ? 2 : 1;
        if (verb is not ("list" or "add" or "remove")) throw new UsageException($"members {verb}: expected list, add or remove");
        if (args.Length < take) throw new UsageException($"members {verb} needs a node id");
        string? id = take == 2 ? args[1] : null;
        if (id is not null && (!int.TryParse(id, out int n) || n <= 0)) throw new UsageException($"'{id}' is not a node id (a positive integer)");
        var cl = new CommandLine(args[take..]);
        cl.AllowOnly("endpoint", "as");
        string endpoint = cl.Get("endpoint", "http://127.0.0.1:8081").TrimEnd('/');
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
            throw new UsageException($"--endpoint {endpoint}: not an http(s) URL");
        string? role = cl.Get("as");
        if (role is not null && (verb != "add" || role != "learner")) throw new UsageException("--as learner is the only --as, and only for add");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var request = verb switch
        {
            "list" => new HttpRequestMessage(HttpMethod.Get, $"{endpoint}/admin/members"),
            "add" => new HttpRequestMessage(HttpMethod.Post, $"{endpoint}/admin/members/{id}{(role is null ? "" : "?as=learner")}"),
            _ => new HttpRequestMessage(HttpMethod.Delete, $"{endpoint}/admin/members/{id}"),
        };
        try
        {
            using var response = await http.SendAsync(request);
            string body = await response.Content.ReadAsStringAsync();
            (response.IsSuccessStatusCode ? Console.Out : Console.Error).WriteLine(body);
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"{endpoint}: {e.Message}");
            return 1;
        }
    }
}
