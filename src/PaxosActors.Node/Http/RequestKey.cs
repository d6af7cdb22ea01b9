using System.Text;
using Microsoft.AspNetCore.Http.Features;

namespace PaxosActors.Node.Http;

/// <summary>
/// The key of a request, decoded from the raw request target: everything after the route prefix up to the
/// query, percent-decoded exactly once, and required to be valid UTF-8. Either <see cref="Value"/> or
/// <see cref="Problem"/> is set.
/// </summary>
public readonly record struct RequestKey(string? Value, string? Problem)
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static RequestKey From(HttpContext http, string prefix)
    {
        string raw = Target(http);
        int end = raw.IndexOfAny(['?', '#']);
        if (end >= 0) raw = raw[..end];
        if (!raw.StartsWith(prefix, StringComparison.Ordinal))
            return new(null, $"the request path must start with {prefix} followed by the key, without dot segments");
        return Decode(raw.AsSpan(prefix.Length));
    }

    /// <summary>The request target as the client sent it, path and query, still encoded (an absolute-form target loses its
    /// scheme and authority): what a redirect to another node repeats.</summary>
    public static string Target(HttpContext http)
    {
        string raw = http.Features.Get<IHttpRequestFeature>()?.RawTarget ?? http.Request.Path.Value ?? "";
        if (raw.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || raw.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            int pathStart = raw.IndexOf('/', raw.IndexOf("//", StringComparison.Ordinal) + 2);
            raw = pathStart < 0 ? "/" : raw[pathStart..];
        }
        int fragment = raw.IndexOf('#');
        return fragment >= 0 ? raw[..fragment] : raw;
    }

    /// <summary>Strict percent-decoding: "%" must be followed by two hex digits, and the bytes must be UTF-8.</summary>
    public static RequestKey Decode(ReadOnlySpan<char> encoded)
    {
        var bytes = new List<byte>(encoded.Length);
        for (int i = 0; i < encoded.Length; i++)
        {
            char c = encoded[i];
            if (c == '%')
            {
                if (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2]))
                    return new(null, "the key has a malformed percent-escape");
                bytes.Add(Convert.ToByte(encoded.Slice(i + 1, 2).ToString(), 16));
                i += 2;
            }
            else if (c > 0x7F) bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
            else bytes.Add((byte)c);
        }
        try
        {
            return new(StrictUtf8.GetString(bytes.ToArray()), null);
        }
        catch (DecoderFallbackException)
        {
            return new(null, "the key is not valid UTF-8");
        }
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
