namespace PaxosActors.Node.Commands;

/// <summary>Options of the form <c>--name value</c> and <c>--flag</c>; anything else is a usage error.</summary>
public sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);

    public CommandLine(string[] args, params string[] flags)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length == 2) throw new UsageException($"unexpected argument '{a}'");
            string name = a[2..];
            if (flags.Contains(name)) { _options[name] = null; continue; }
            if (i + 1 >= args.Length) throw new UsageException($"--{name} needs a value");
            _options[name] = args[++i];
        }
    }

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;

    public string Get(string name, string fallback) => Get(name) ?? fallback;

    public int GetInt(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = Get(name);
        if (v is null) return fallback;
        if (!int.TryParse(v, out int n) || n < min || n > max)
            throw new UsageException($"--{name} must be a whole number between {min} and {max}, not '{v}'");
        return n;
    }

    /// <summary>The full path of the file <c>--name</c> names, or null if the option is absent; a usage error naming the
    /// path if no such file exists.</summary>
    public string? GetExistingFile(string name)
    {
        if (Get(name) is not { } given) return null;
        string path = Path.GetFullPath(given);
        return File.Exists(path) ? path : throw new UsageException($"--{name} {path}: no such file");
    }

    public void AllowOnly(params string[] names)
    {
        foreach (var k in _options.Keys)
            if (!names.Contains(k)) throw new UsageException($"unknown option --{k}");
    }
}
