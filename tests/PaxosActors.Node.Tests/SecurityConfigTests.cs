using Akka.Configuration;
using PaxosActors.Node.Commands;
using PaxosActors.Node.Http;

namespace PaxosActors.Node.Tests;

/// <summary>The security settings on their own: secure by default off loopback, the token store, the scope each request needs.</summary>
public sealed class SecurityConfigTests
{
    private static Config Hosts(string http, string remote) => ConfigurationFactory.ParseString(
        $"paxos.http.host = \"{http}\"\nakka.remote.dot-netty.tcp.hostname = \"{remote}\"");

    [Fact]
    public void A_node_beyond_loopback_needs_both_TLS_and_authentication()
    {
        Assert.Null(Exposure.Check(Hosts("127.0.0.1", "localhost"), tls: false, auth: false));
        Assert.Null(Exposure.Check(Hosts("::1", "127.0.0.2"), tls: false, auth: false));
        Assert.Contains("without TLS (paxos.tls.enabled) and authentication", Exposure.Check(Hosts("0.0.0.0", "127.0.0.1"), false, false));
        Assert.Contains("akka.remote.dot-netty.tcp.hostname = 10.0.0.1", Exposure.Check(Hosts("127.0.0.1", "10.0.0.1"), true, false));
        Assert.Contains("without TLS", Exposure.Check(Hosts("node1.example", "127.0.0.1"), false, true));
        Assert.Null(Exposure.Check(Hosts("10.0.0.1", "10.0.0.1"), tls: true, auth: true));
    }

    [Fact]
    public async Task The_node_command_refuses_to_start_exposed_without_insecure()
    {
        string file = Path.Combine(Path.GetTempPath(), $"paxos-exposed-{Guid.NewGuid():N}.hocon");
        // Never bound: the refusal comes before anything listens.
        File.WriteAllText(file, "paxos.http.host = \"0.0.0.0\"\n");
        var error = new StringWriter();
        var was = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, await NodeCommand.RunAsync(["--config", file]));
        }
        finally
        {
            Console.SetError(was);
            File.Delete(file);
        }
        Assert.Contains("listens beyond loopback (paxos.http.host = 0.0.0.0)", error.ToString());
        Assert.Contains("--insecure", error.ToString());
    }

    [Fact]
    public void Tokens_are_stored_hashed_and_map_to_their_scope()
    {
        string read = ApiTokens.NewToken(), admin = ApiTokens.NewToken();
        string readLine = ApiTokens.Line(ApiScope.Read, read, "r");
        Assert.DoesNotContain(read, readLine);
        var tokens = ApiTokens.Create(ConfigurationFactory.ParseString(
            $"paxos.http.auth {{ enabled = on, tokens = [\"{readLine}\", \"{ApiTokens.Line(ApiScope.Admin, admin, "a")}\"] }}"))!;
        Assert.Equal(ApiScope.Read, tokens.ScopeOf(read));
        Assert.Equal(ApiScope.Admin, tokens.ScopeOf(admin));
        Assert.Null(tokens.ScopeOf(read + "x"));
        Assert.Null(tokens.ScopeOf(""));
        Assert.Null(ApiTokens.Create(ConfigurationFactory.ParseString("paxos.http.auth.enabled = off")));
        Assert.Throws<ConfigurationException>(() => ApiTokens.Create(ConfigurationFactory.ParseString("paxos.http.auth { enabled = on, tokens = [] }")));
        Assert.Throws<ConfigurationException>(() => ApiTokens.Create(ConfigurationFactory.ParseString(
            $"paxos.http.auth {{ enabled = on, tokens = [\"root sha256:{new string('0', 64)}\"] }}")));
    }

    [Fact]
    public void A_token_added_to_the_tokens_file_is_taken_without_a_restart()
    {
        string file = Path.Combine(Path.GetTempPath(), $"paxos-tokens-{Guid.NewGuid():N}");
        string first = ApiTokens.NewToken(), second = ApiTokens.NewToken();
        try
        {
            File.WriteAllText(file, ApiTokens.Line(ApiScope.Write, first, "one") + "\n");
            var tokens = ApiTokens.Create(ConfigurationFactory.ParseString($"paxos.http.auth {{ enabled = on, tokens-file = \"{file}\" }}"))!;
            Assert.Equal(ApiScope.Write, tokens.ScopeOf(first));
            Assert.Null(tokens.ScopeOf(second));
            // Rotation: the new token in, the old one out.
            File.WriteAllText(file, ApiTokens.Line(ApiScope.Write, second, "two") + "\n");
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddSeconds(5));
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (tokens.ScopeOf(second) is null && DateTime.UtcNow < deadline) Thread.Yield();
            Assert.Equal(ApiScope.Write, tokens.ScopeOf(second));
            Assert.Null(tokens.ScopeOf(first));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("GET", "/kv/a", ApiScope.Read)]
    [InlineData("HEAD", "/status", ApiScope.Read)]
    [InlineData("PUT", "/kv/a", ApiScope.Write)]
    [InlineData("POST", "/cas/a", ApiScope.Write)]
    [InlineData("FROB", "/kv/a", ApiScope.Write)]
    [InlineData("GET", "/admin/members", ApiScope.Admin)]
    [InlineData("POST", "/ADMIN/block", ApiScope.Admin)]
    [InlineData("GET", "/health/live", null)]
    public void Each_request_needs_its_scope(string method, string path, ApiScope? scope) =>
        Assert.Equal(scope, ApiGuard.Needs(method, path));
}
