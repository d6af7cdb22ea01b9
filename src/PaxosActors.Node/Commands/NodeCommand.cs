using System.Reflection;
using Akka.Configuration;
using PaxosActors.Configuration;
using PaxosActors.Diagnostics;
using PaxosActors.Hosting;
using PaxosActors.Http;
using PaxosActors.Kv.Hosting;
using PaxosActors.Node.Http;
using PaxosActors.Security;

namespace PaxosActors.Node.Commands;

/// <summary>
/// <c>node</c>: runs one cluster node with its HTTP API. Configuration is HOCON (<c>--config FILE</c>, else
/// the built-in hocon/node.hocon), where environment variables fill the <c>${?PAXOS_*}</c> slots and
/// command-line options override both; the executable's own defaults (reference.conf here: the HTTP endpoint, the
/// default roles) and the library's fill in the rest.
/// </summary>
public static class NodeCommand
{
    /// <summary>The executable's embedded defaults: <c>paxos.http</c> and <c>akka.cluster.roles</c>.</summary>
    public static Config Defaults { get; } = EmbeddedConfig.Load(typeof(NodeCommand).Assembly, "PaxosActors.Node.reference.conf");

    /// <summary>The roles this executable brings besides the Paxos ones: the key-value store.</summary>
    public static RoleRegistry Roles() => new RoleRegistry().Add("kv", () => new KvRole());

    public static readonly string[] Options =
        ["config", "extra-config", "node-id", "http-port", "remote-port", "host", "data-dir", "seeds", "mode", "acceptors", "log-level",
         "roles", "roles-dir"];

    /// <summary>The options that take no value.</summary>
    public static readonly string[] Flags = ["exit-with-stdin", "rebuild-acceptor", "insecure", "redirect-writes"];

    /// <summary>The roles folder a node uses when its configuration names none: <c>./roles</c>, if it exists.</summary>
    public const string DefaultRolesDir = "roles";

    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args, Flags);
        var entered = DateTime.UtcNow; // for the start-up timeline line below
        cl.AllowOnly([.. Options, .. Flags]);
        var config = Load(cl);
        PaxosSettings settings;
        FaultInjection? faults;
        TlsSettings? tls;
        ApiTokens? tokens;
        HttpLimits limits;
        try
        {
            settings = PaxosSettings.Create(config);
            tls = TlsSettings.Create(config);
            tokens = ApiTokens.Create(config);
            limits = HttpLimits.Create(config);
            if (Exposure.Check(config.WithFallback(PaxosNodeHost.ClusterDefaults), tls is not null, tokens is not null) is { } exposed)
            {
                if (!config.GetBoolean("paxos.insecure", false))
                {
                    Console.Error.WriteLine($"error: {exposed}. Configure paxos.tls and paxos.http.auth (README, 'Running securely'), " +
                                            "or start with --insecure to run exposed anyway.");
                    return 2;
                }
                Console.Error.WriteLine($"warning: node {settings.NodeId}: INSECURE: {exposed}; started anyway because of --insecure (paxos.insecure = on)");
            }
            // Only the chaos harness turns this on: it wraps the transport and adds the /admin endpoints.
            faults = FaultInjection.IsOn(config) ? new FaultInjection() : null;
            if (faults is not null) config = FaultInjection.Enable(config);
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        bool staleReads = false;
        if (FaultInjection.StaleReads(config))
        {
            if (faults is null)
                Console.Error.WriteLine("warning: paxos.fault-injection-stale-reads is ignored: it is honoured only with paxos.fault-injection = on");
            else
            {
                staleReads = true;
                Console.Error.WriteLine($"node {settings.NodeId}: FAULT INJECTION: this node answers GET /kv/{{key}} from its own state, " +
                                        "without the log: its reads are NOT linearizable (paxos.fault-injection-stale-reads = on)");
            }
        }
        string httpHost = config.GetString("paxos.http.host");
        int httpPort = config.GetInt("paxos.http.port");
        string scheme = tls is null ? "http" : "https";
        config = WithClientUrl(config, scheme, httpHost, httpPort);
        bool redirectWrites = config.GetBoolean("paxos.http.redirect-writes", false);
        if (redirectWrites && config.GetString("paxos.client-url", "") is not { Length: > 0 })
            Console.Error.WriteLine($"warning: node {settings.NodeId}: paxos.http.redirect-writes is on, but this node announces no " +
                                    "paxos.client-url (paxos.http.host is a wildcard): the others cannot send clients to it");
        var runner = new NodeRunner(config, Console.Error) { Started = faults is null ? null : faults.OnStarted, Roles = Roles() };

        // No configuration files to watch: by default the host watches its content root (the working
        // directory) for appsettings changes, and a SQLite data directory under it keeps that watcher busy.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"{scheme}://{httpHost}:{httpPort}");
        var serverCertificate = tls is null ? null : new ServerCertificate(tls);
        if (serverCertificate is not null) builder.WebHost.UseKestrelHttpsConfiguration(); // the slim builder leaves HTTPS out
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            limits.Apply(k.Limits);
            if (serverCertificate is not null)
                k.ConfigureHttpsDefaults(https => https.ServerCertificateSelector = (_, _) => serverCertificate.Current);
        });
        MetricsApi.AddServices(builder.Services);
        HealthApi.AddChecks(builder.Services, runner);
        var app = builder.Build();
        // The metrics listener before the node: what the agents count while they start is counted too.
        MetricsApi.Listen(app);
        try
        {
            runner.Start();
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        // Tokens and limits before every endpoint (the request metrics above count what they refuse, too).
        var guard = new ApiGuard(tokens, limits.MaxRequestsPerClient);
        app.Use(guard.InvokeAsync);
        MetricsApi.Map(app);
        HealthApi.Map(app);
        KvApi.Map(app, runner, staleReads, redirectWrites);
        StatusApi.Map(app, runner);
        MembersApi.Map(app, runner);
        faults?.Map(app);
        if (HopTrace.Enabled) TraceApi.Map(app);
        app.MapFallback((HttpContext http) => KvApi.Error(404, $"no such endpoint: {http.Request.Method} {http.Request.Path}"));

        // The roles' own routes, under their prefixes; their handlers find the running node at request time.
        IReadOnlyDictionary<string, string> routes;
        try
        {
            routes = RoleEndpoints.Map(app, runner.Current!.Context.RoleInstances, () => runner.Current?.Context);
        }
        catch (ConfigurationException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            await runner.StopAsync();
            return 2;
        }

        if (cl.Has("exit-with-stdin"))
            _ = Task.Run(async () =>
            {
                // The local launcher holds our stdin: when it dies, we stop too instead of lingering.
                await Console.In.ReadToEndAsync();
                await app.StopAsync();
            });

        var supervise = runner.SuperviseAsync();
        try
        {
            await app.StartAsync();
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"error: cannot serve {scheme.ToUpperInvariant()} on {httpHost}:{httpPort}: {e.Message}");
            await runner.StopAsync();
            return 1;
        }
        Console.WriteLine($"node {settings.NodeId}: {scheme.ToUpperInvariant()} on {scheme}://{httpHost}:{httpPort}" +
                          (tokens is null ? "" : $" (bearer tokens: {tokens.Count})") + (tls is null ? "" : ", remoting over mutual TLS") + $", journal {Path.GetFullPath(settings.DatabasePath)}" +
                          (runner.Current?.Context.JournalError is null ? "" : " (unreadable: running without it, see the ERROR above and /status)"));
        foreach (var (role, prefix) in routes) Console.WriteLine($"node {settings.NodeId}: role {role} serves {scheme}://{httpHost}:{httpPort}{prefix}");
        Console.WriteLine(StartTimeline(settings.NodeId, entered));
        await app.WaitForShutdownAsync();
        await runner.StopAsync();
        await supervise;
        return 0;
    }

    /// <summary>When the process started (the kernel's clock), when <c>node</c> began and when HTTP served, so that a restart
    /// can be broken down from the log (BENCHMARKS.md, "Restart"); the ActorSystem, recovery and join lines carry Akka's times.</summary>
    private static string StartTimeline(int nodeId, DateTime entered)
    {
        var now = DateTime.UtcNow;
        string process;
        try { process = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime().ToString("HH:mm:ss.fff"); }
        catch (Exception) { process = "?"; }
        return $"node {nodeId}: timeline (UTC): process started {process}, node command {entered:HH:mm:ss.fff}, HTTP serving {now:HH:mm:ss.fff} " +
               $"(+{(now - entered).TotalMilliseconds:F0} ms)";
    }

    /// <summary>The node's configuration: options over <c>--extra-config</c> over the file (or the built-in one) over the
    /// embedded defaults. <c>--roles</c> adds to the roles the rest names; <c>--roles-dir</c> (else <c>./roles</c> if it exists
    /// and nothing names one) is where role assemblies are found.</summary>
    public static Config Load(CommandLine cl)
    {
        string text;
        if (cl.Get("config") is { } file)
        {
            if (!File.Exists(file)) throw new UsageException($"--config {file}: no such file");
            text = File.ReadAllText(file);
        }
        else
        {
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("node.hocon")!;
            text = new StreamReader(stream).ReadToEnd();
        }
        string? extra = null;
        if (cl.Get("extra-config") is { } extraFile)
        {
            if (!File.Exists(extraFile)) throw new UsageException($"--extra-config {extraFile}: no such file");
            extra = File.ReadAllText(extraFile);
        }
        var overrides = new List<string>();
        if (cl.Get("node-id") is { } id) overrides.Add($"paxos.node-id = {cl.GetInt("node-id", 0, 1)}");
        if (cl.Get("http-port") is not null) overrides.Add($"paxos.http.port = {cl.GetInt("http-port", 0, 1, 65535)}");
        if (cl.Get("remote-port") is not null) overrides.Add($"akka.remote.dot-netty.tcp.port = {cl.GetInt("remote-port", 0, 0, 65535)}");
        if (cl.Get("host") is { } host) overrides.Add($"akka.remote.dot-netty.tcp.hostname = {HoconString.Quote(host)}\npaxos.http.host = {HoconString.Quote(host)}");
        if (cl.Get("data-dir") is { } dir) overrides.Add($"paxos.data-dir = {HoconString.Quote(dir)}");
        if (cl.Get("seeds") is { } seeds) overrides.Add($"paxos.seeds = {HoconString.Quote(seeds)}");
        if (cl.Get("mode") is { } mode) overrides.Add($"paxos.mode = {HoconString.Quote(mode)}");
        if (cl.Get("acceptors") is { } acceptors) overrides.Add($"paxos.acceptors = [{acceptors}]");
        if (cl.Has("rebuild-acceptor")) overrides.Add("paxos.rebuild-acceptor = on");
        if (cl.Has("insecure")) overrides.Add("paxos.insecure = on");
        if (cl.Has("redirect-writes")) overrides.Add("paxos.http.redirect-writes = on");
        if (cl.Get("log-level") is { } level) overrides.Add($"akka.loglevel = {HoconString.Quote(level)}");
        if (cl.Get("roles-dir") is { } rolesDir) overrides.Add($"paxos.roles-dir = {HoconString.Quote(Path.GetFullPath(rolesDir))}");
        Config config;
        try
        {
            var fromFiles = ConfigurationFactory.ParseString(HoconEnvironment.Resolve(text));
            if (extra is not null) fromFiles = ConfigurationFactory.ParseString(HoconEnvironment.Resolve(extra)).WithFallback(fromFiles);
            config = ConfigurationFactory.ParseString(string.Join("\n", overrides)).WithFallback(fromFiles).WithFallback(Defaults);
        }
        catch (Exception e) when (e is not UsageException)
        {
            throw new UsageException($"the configuration does not parse: {e.Message}");
        }
        var more = new List<string>();
        if (cl.Get("roles") is { } added) more.Add($"akka.cluster.roles = {HoconString.QuoteList(WithRoles(config, added))}");
        if (config.GetString("paxos.roles-dir", "") is not { Length: > 0 } && Directory.Exists(DefaultRolesDir))
            more.Add($"paxos.roles-dir = {HoconString.Quote(Path.GetFullPath(DefaultRolesDir))}");
        return more.Count == 0 ? config : ConfigurationFactory.ParseString(string.Join("\n", more)).WithFallback(config);
    }

    /// <summary><paramref name="config"/> with <c>paxos.client-url</c> filled in from the HTTP listener when it is empty and the
    /// listener names one address: a wildcard (0.0.0.0, ::, *) says nothing about where clients reach the node.</summary>
    public static Config WithClientUrl(Config config, string scheme, string host, int port)
    {
        if (config.GetString("paxos.client-url", "") is { Length: > 0 }) return config;
        if (host is "0.0.0.0" or "::" or "[::]" or "*" or "+" or "") return config;
        var url = new UriBuilder(scheme, host.Trim('[', ']'), port).Uri;
        return ConfigurationFactory.ParseString($"paxos.client-url = {HoconString.Quote(url.AbsoluteUri)}").WithFallback(config);
    }

    /// <summary>The roles <paramref name="config"/> names, then those of <paramref name="list"/> (<c>a,b</c>) it does not.</summary>
    public static IReadOnlyList<string> WithRoles(Config config, string list)
    {
        var roles = config.GetStringList("akka.cluster.roles").ToList();
        foreach (string role in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (role.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\'))
                throw new UsageException($"--roles: '{role}' is not a role name");
            if (!roles.Contains(role)) roles.Add(role);
        }
        return roles;
    }
}
