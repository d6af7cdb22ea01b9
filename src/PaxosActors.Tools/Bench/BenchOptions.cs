using System.Globalization;
using PaxosActors.Node;
using PaxosActors.Node.Commands;

namespace PaxosActors.Tools.Bench;

/// <summary>The settings of one <c>bench</c> run, parsed from its command line.</summary>
public sealed record BenchOptions
{
    public static readonly string[] Names =
    [
        "endpoints", "nodes", "mode", "workers", "duration", "warmup", "value-size", "keys", "read-ratio",
        "timeout-ms", "seed", "json-only", "log-level", "node-config",
    ];

    /// <summary>Given endpoints (base URLs), or empty: start a cluster of <see cref="Nodes"/> nodes.</summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];
    public int Nodes { get; init; } = 3;
    public string Mode { get; init; } = "multi";
    public int Workers { get; init; } = 16;
    public double DurationSeconds { get; init; } = 10;
    public double WarmupSeconds { get; init; } = 2;
    public int ValueSize { get; init; } = 100;
    public int Keys { get; init; } = 1000;
    public double ReadRatio { get; init; }
    public int TimeoutMs { get; init; } = 5000;
    public int Seed { get; init; } = 1;
    public bool JsonOnly { get; init; }
    public string LogLevel { get; init; } = "ERROR";
    /// <summary>A HOCON file each started node reads over its built-in configuration (<c>node --extra-config</c>); null: none.</summary>
    public string? NodeConfig { get; init; }

    public bool StartsCluster => Endpoints.Count == 0;

    public static BenchOptions Parse(string[] args)
    {
        var cl = new CommandLine(args, "json-only");
        cl.AllowOnly(Names);
        var endpoints = (cl.Get("endpoints") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(e => e.TrimEnd('/'))
            .ToList();
        if (cl.Has("endpoints") && endpoints.Count == 0) throw new UsageException("--endpoints needs at least one URL");
        foreach (var e in endpoints)
            if (!Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
                throw new UsageException($"--endpoints: '{e}' is not a URL like http://127.0.0.1:8081");
        if (endpoints.Count > 0 && (cl.Has("nodes") || cl.Has("mode") || cl.Has("node-config")))
            throw new UsageException("--nodes, --mode and --node-config start a cluster; they do not go with --endpoints");
        string? nodeConfig = cl.GetExistingFile("node-config");
        string mode = cl.Get("mode", "multi");
        if (mode is not ("multi" or "basic")) throw new UsageException("--mode is multi or basic");
        return new BenchOptions
        {
            Endpoints = endpoints,
            Nodes = cl.GetInt("nodes", 3, 1, 9),
            Mode = mode,
            Workers = cl.GetInt("workers", 16, 1, 100_000),
            DurationSeconds = GetDouble(cl, "duration", 10, 0.001, 86_400),
            WarmupSeconds = GetDouble(cl, "warmup", 2, 0, 86_400),
            ValueSize = cl.GetInt("value-size", 100, 1, 64 << 20),
            Keys = cl.GetInt("keys", 1000, 1, 100_000_000),
            ReadRatio = GetDouble(cl, "read-ratio", 0, 0, 1),
            TimeoutMs = cl.GetInt("timeout-ms", 5000, 1),
            Seed = cl.GetInt("seed", 1),
            JsonOnly = cl.Has("json-only"),
            LogLevel = cl.Get("log-level", "ERROR"),
            NodeConfig = nodeConfig,
        };
    }

    private static double GetDouble(CommandLine cl, string name, double fallback, double min, double max)
    {
        string? v = cl.Get(name);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || double.IsNaN(d) || d < min || d > max)
            throw new UsageException($"--{name} must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, not '{v}'");
        return d;
    }
}
