using System.Security.Cryptography;
using System.Text;
using Akka.Configuration;

namespace PaxosActors.Node.Http;

/// <summary>What a bearer token may do; each scope includes the ones before it.</summary>
public enum ApiScope
{
    /// <summary>GET and HEAD: reads, <c>/status</c>, the roles' reads.</summary>
    Read = 1,

    /// <summary>Also every other method outside <c>/admin/</c>: writes, deletes, compare-and-swap, the roles' commands.</summary>
    Write = 2,

    /// <summary>Also <c>/admin/*</c>: membership changes and (where enabled) fault injection.</summary>
    Admin = 3,
}

/// <summary>
/// The bearer tokens a node accepts (<c>paxos.http.auth</c>), stored as SHA-256 hashes, never in the clear: inline
/// (<c>tokens</c>) and in a file (<c>tokens-file</c>), one <c>&lt;scope&gt; sha256:&lt;hex&gt; [name]</c> per line. The file is
/// read again when it changes (checked at most once a second), so a token is added or revoked without a restart. A
/// presented token is hashed and compared with every stored hash in constant time.
/// </summary>
public sealed class ApiTokens
{
    private readonly IReadOnlyList<Entry> _inline;
    private readonly string? _file;
    private readonly Lock _lock = new();
    private IReadOnlyList<Entry> _fromFile = [];
    private DateTime _fileStamp = DateTime.MinValue;
    private long _checkedAt = long.MinValue;

    private sealed record Entry(ApiScope Scope, byte[] Hash, string Name);

    private ApiTokens(IReadOnlyList<Entry> inline, string? file)
    {
        _inline = inline;
        _file = file;
        if (file is not null) Reload(force: true);
    }

    /// <summary>Reads <c>paxos.http.auth</c>; null when authentication is off.</summary>
    /// <exception cref="ConfigurationException">A malformed entry, or a tokens file that does not exist.</exception>
    public static ApiTokens? Create(Config config)
    {
        if (!config.GetBoolean("paxos.http.auth.enabled", false)) return null;
        var inline = config.GetStringList("paxos.http.auth.tokens").Select((line, i) => Parse(line, $"paxos.http.auth.tokens[{i}]")).ToList();
        string file = config.GetString("paxos.http.auth.tokens-file", "");
        if (file.Length > 0 && !File.Exists(file)) throw new ConfigurationException($"paxos.http.auth.tokens-file: no such file: {file}");
        var tokens = new ApiTokens(inline, file.Length > 0 ? Path.GetFullPath(file) : null);
        if (tokens.Count == 0)
            throw new ConfigurationException("paxos.http.auth.enabled = on, but no token is configured (paxos.http.auth.tokens or tokens-file)");
        return tokens;
    }

    /// <summary>How many tokens are known now.</summary>
    public int Count
    {
        get
        {
            Reload(force: false);
            return _inline.Count + _fromFile.Count;
        }
    }

    /// <summary>A new random token (256 bits, URL-safe base64).</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The line that grants <paramref name="token"/> the <paramref name="scope"/>, for a tokens file or <c>tokens</c>.</summary>
    public static string Line(ApiScope scope, string token, string name) =>
        $"{scope.ToString().ToLowerInvariant()} sha256:{Convert.ToHexStringLower(Hash(token))} {name}".TrimEnd();

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    /// <summary>The scope of <paramref name="token"/>, or null if it is not a known token. Every stored hash is compared, each
    /// in constant time, whatever matches: the time taken says nothing about which token, or how much of one, was right.</summary>
    public ApiScope? ScopeOf(string token)
    {
        Reload(force: false);
        byte[] presented = Hash(token);
        ApiScope? found = null;
        foreach (var entry in _inline.Concat(_fromFile))
            if (CryptographicOperations.FixedTimeEquals(presented, entry.Hash) && (found is null || entry.Scope > found))
                found = entry.Scope;
        return found;
    }

    private void Reload(bool force)
    {
        if (_file is null) return;
        long now = Environment.TickCount64;
        if (!force && now - Interlocked.Read(ref _checkedAt) < 1000) return;
        lock (_lock)
        {
            Interlocked.Exchange(ref _checkedAt, now);
            DateTime stamp;
            try
            {
                stamp = File.GetLastWriteTimeUtc(_file);
                if (!force && stamp == _fileStamp) return;
                var lines = File.ReadAllLines(_file);
                _fromFile = lines.Select((line, i) => (line.Trim(), i))
                    .Where(l => l.Item1.Length > 0 && !l.Item1.StartsWith('#'))
                    .Select(l => Parse(l.Item1, $"{_file}:{l.i + 1}")).ToList();
                _fileStamp = stamp;
            }
            catch (IOException) when (!force)
            {
                // being replaced: keep the tokens we have and look again next time
            }
            catch (ConfigurationException) when (!force)
            {
                // a half-written or broken file: keep the tokens we have (the next good version is taken)
            }
        }
    }

    private static Entry Parse(string line, string where)
    {
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length < 2 || !Enum.TryParse<ApiScope>(parts[0], ignoreCase: true, out var scope) || !Enum.IsDefined(scope)
            || !parts[1].StartsWith("sha256:", StringComparison.Ordinal) || parts[1].Length != 7 + 64)
            throw new ConfigurationException($"{where}: expected '<read|write|admin> sha256:<64 hex digits> [name]', " +
                                             $"not '{(parts.Length > 1 ? parts[0] + " " + parts[1][..Math.Min(12, parts[1].Length)] + "..." : line)}'");
        byte[] hash;
        try
        {
            hash = Convert.FromHexString(parts[1][7..]);
        }
        catch (FormatException)
        {
            throw new ConfigurationException($"{where}: the hash is not hexadecimal");
        }
        return new Entry(scope, hash, parts.Length > 2 ? string.Join(' ', parts[2..]) : "");
    }
}
