using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace PaxosActors.Tools.Chaos;

/// <summary>
/// Records every client operation as the loadgen's JSON-lines history (see /work/shared/bench/README.md,
/// <c>--history</c>): an invoke line, then ok / fail / info, stamped and appended under one lock so the
/// file is in time order. Cas lines carry <c>expected</c>; a cas ok carries <c>value: true|false</c>.
/// </summary>
public sealed class HistoryLog : IDisposable
{
    private readonly StreamWriter _file;
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public HistoryLog(string path)
    {
        Path = path;
        _file = new StreamWriter(path, append: false, new UTF8Encoding(false));
    }

    public string Path { get; }
    public int Invoked { get; private set; }
    public int Ok { get; private set; }
    public int Failed { get; private set; }
    public int Info { get; private set; }

    public void Invoke(int process, string f, string key, string? value, string? expected = null) =>
        Write(process, "invoke", f, key, w =>
        {
            if (value is null) w.WriteNull("value"); else w.WriteString("value", value);
            if (f == "cas")
            {
                if (expected is null) w.WriteNull("expected"); else w.WriteString("expected", expected);
            }
        }, null);

    /// <summary>A completion; <paramref name="value"/> is a string, null, or a bool (cas).</summary>
    public void Complete(int process, string type, string f, string key, object? value, string? error = null) =>
        Write(process, type, f, key, w =>
        {
            switch (value)
            {
                case null: w.WriteNull("value"); break;
                case bool b: w.WriteBoolean("value", b); break;
                default: w.WriteString("value", value.ToString()); break;
            }
        }, error);

    private void Write(int process, string type, string f, string key, Action<Utf8JsonWriter> fields, string? error)
    {
        var buf = new System.Buffers.ArrayBufferWriter<byte>(256);
        lock (_gate)
        {
            long ns = (long)(_clock.ElapsedTicks * (1_000_000_000.0 / Stopwatch.Frequency));
            using (var w = new Utf8JsonWriter(buf))
            {
                w.WriteStartObject();
                w.WriteNumber("process", process);
                w.WriteString("type", type);
                w.WriteString("f", f);
                w.WriteString("key", key);
                fields(w);
                w.WriteNumber("time_ns", ns);
                if (error is not null) w.WriteString("error", error);
                w.WriteEndObject();
            }
            _file.WriteLine(Encoding.UTF8.GetString(buf.WrittenSpan));
            switch (type)
            {
                case "invoke": Invoked++; break;
                case "ok": Ok++; break;
                case "fail": Failed++; break;
                default: Info++; break;
            }
        }
    }

    public void Flush()
    {
        lock (_gate) _file.Flush();
    }

    public void Dispose()
    {
        lock (_gate) _file.Dispose();
    }
}
