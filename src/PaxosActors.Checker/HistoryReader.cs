using System.Text.Json;

namespace PaxosActors.Checker;

/// <summary>
/// Reads a JSON-lines history (the loadgen's <c>--history</c> format) into <see cref="Operation"/>s.
/// </summary>
/// <remarks>
/// One JSON object per line, two lines per operation (the invocation, then its completion), in time order:
/// <code>
/// {"process":3,"type":"invoke","f":"write","key":"k000042","value":"w3-17-xx","time_ns":123}
/// {"process":3,"type":"ok","f":"write","key":"k000042","value":"w3-17-xx","time_ns":456}
/// </code>
/// Fields: <c>process</c> (int), <c>type</c> (invoke / ok / fail / info), <c>f</c>, <c>key</c>, <c>value</c>,
/// <c>time_ns</c> (long, monotonic); anything else (e.g. <c>error</c>) is ignored. Per <c>f</c>:
/// <list type="bullet">
/// <item><c>read</c>: the invoke's value is ignored; the ok's <c>value</c> is the value read (string, null = absent).</item>
/// <item><c>write</c>: the invoke's <c>value</c> is the value written (string); the completion's value is ignored.</item>
/// <item><c>cas</c> (not produced by loadgen): the invoke carries <c>"expected"</c> (string, null or missing = the key
/// must be absent) and <c>"value"</c> (the new value, string); the ok carries <c>"value": true</c> if it swapped,
/// <c>false</c> if it did not. A fail/info completion's value is ignored.
/// Example: <c>{"process":1,"type":"invoke","f":"cas","key":"k1","expected":"a","value":"b","time_ns":5}</c>
/// then <c>{"process":1,"type":"ok","f":"cas","key":"k1","value":true,"time_ns":9}</c>.</item>
/// <item><c>delete</c> (not produced by loadgen): the invoke's value is ignored; the ok may carry <c>"value": true/false</c>
/// = whether the key existed (checked), or null / nothing (not checked).</item>
/// </list>
/// Values may also be JSON numbers (taken as their text), for hand-written histories. A completion is matched to
/// the pending invocation of the same process. An invocation still pending at the end of the file is taken as
/// info (the client never learned the outcome). Blank lines are skipped; anything else malformed throws
/// <see cref="FormatException"/> with the line number.
/// </remarks>
public static class HistoryReader
{
    /// <summary>Reads the history file at <paramref name="path"/>.</summary>
    public static IReadOnlyList<Operation> Read(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader);
    }

    /// <summary>Reads a history from <paramref name="reader"/> to its end.</summary>
    public static IReadOnlyList<Operation> Read(TextReader reader)
    {
        var ops = new List<Operation?>();
        var pending = new Dictionary<int, Operation>();
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            try
            {
                ReadLine(line, ops, pending);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
            {
                throw new FormatException($"history line {lineNo}: {e.Message}", e);
            }
        }
        // The run ended before these completed: nobody knows whether they took effect.
        foreach (var open in pending.Values)
            ops[open.Id] = open with { Status = OpStatus.Info, ReturnNs = Operation.Never, Outcome = null };
        return ops.Select(o => o!).ToArray();
    }

    static void ReadLine(string line, List<Operation?> ops, Dictionary<int, Operation> pending)
    {
        using var doc = JsonDocument.Parse(line);
        var root = doc.RootElement;
        int process = root.GetProperty("process").GetInt32();
        string type = root.GetProperty("type").GetString() ?? throw new FormatException("\"type\" is null");
        string f = root.GetProperty("f").GetString() ?? throw new FormatException("\"f\" is null");
        string key = root.GetProperty("key").GetString() ?? throw new FormatException("\"key\" is null");
        long time = root.GetProperty("time_ns").GetInt64();
        root.TryGetProperty("value", out var value);

        OpKind kind = f switch
        {
            "read" => OpKind.Read,
            "write" => OpKind.Write,
            "cas" => OpKind.Cas,
            "delete" => OpKind.Delete,
            _ => throw new FormatException($"unknown f \"{f}\""),
        };

        if (type == "invoke")
        {
            if (pending.ContainsKey(process))
                throw new FormatException($"process {process} invokes again before its previous operation completed");
            string? written = kind is OpKind.Write or OpKind.Cas
                ? Text(value) ?? throw new FormatException($"a {f} invocation needs a non-null \"value\"")
                : null;
            string? expected = kind == OpKind.Cas && root.TryGetProperty("expected", out var exp) ? Text(exp) : null;
            // Until its completion arrives an operation is open-ended, like an info operation.
            var op = new Operation(ops.Count, process, kind, key, written, expected, null, OpStatus.Info, time, Operation.Never);
            ops.Add(op);
            pending[process] = op;
            return;
        }

        OpStatus status = type switch
        {
            "ok" => OpStatus.Ok,
            "fail" => OpStatus.Fail,
            "info" => OpStatus.Info,
            _ => throw new FormatException($"unknown type \"{type}\""),
        };
        if (!pending.Remove(process, out var invoked))
            throw new FormatException($"process {process} completes an operation it never invoked");
        if (invoked.Kind != kind || invoked.Key != key)
            throw new FormatException($"process {process} completes {f} {key} but invoked {invoked.Kind.ToString().ToLowerInvariant()} {invoked.Key}");

        var done = invoked with { Status = status, ReturnNs = status == OpStatus.Info ? Operation.Never : time };
        if (status == OpStatus.Ok)
        {
            done = kind switch
            {
                OpKind.Read => done with { Value = Text(value) },
                OpKind.Cas => done with { Outcome = Flag(value) ?? throw new FormatException("a cas ok needs \"value\": true or false") },
                OpKind.Delete => done with { Outcome = Flag(value) },
                _ => done,
            };
        }
        ops[invoked.Id] = done;
    }

    // Missing and null both mean "no value"; numbers are accepted as text so hand-written Jepsen-style
    // histories with integer values read as well.
    static string? Text(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number => e.GetRawText(),
        _ => throw new FormatException($"expected a string or null value, got {e.ValueKind}"),
    };

    static bool? Flag(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Undefined or JsonValueKind.Null => null,
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw new FormatException($"expected true, false or null, got {e.ValueKind}"),
    };
}
