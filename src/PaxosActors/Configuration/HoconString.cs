using System.Text;

namespace PaxosActors.Configuration;

/// <summary>
/// Quoting text into HOCON that is built in code (command-line options, environment values, paths, addresses):
/// whatever the text holds, it reads back as that one string, never as HOCON syntax (a substitution, a comment,
/// a key, the end of the value).
/// </summary>
public static class HoconString
{
    /// <summary>A double-quoted HOCON string whose value is exactly <paramref name="text"/>.</summary>
    public static string Quote(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length + 2).Append('"');
        foreach (char c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case < ' ': sb.Append($"\\u{(int)c:x4}"); break;
                default: sb.Append(c); break;
            }
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A HOCON list of quoted strings: <c>["a", "b"]</c>.</summary>
    public static string QuoteList(IEnumerable<string> items) => $"[{string.Join(", ", items.Select(Quote))}]";
}
