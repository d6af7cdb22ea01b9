using System.Globalization;

namespace PaxosActors.Tools.Bench;

/// <summary>
/// Shows how a run is going: on a terminal one line redrawn in place (a bar, elapsed/total seconds, ops/s so
/// far, errors); when the output is redirected a plain line every second.
/// </summary>
public sealed class Progress(TextWriter output, bool terminal, LoadRunner runner, BenchOptions options)
{
    private int _lastWidth;
    private string? _last;

    public async Task RunAsync(CancellationToken ct)
    {
        var period = TimeSpan.FromMilliseconds(terminal ? 250 : 1000);
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(ct)) Show(Line());
        }
        catch (OperationCanceledException)
        {
        }
        Show(Line());
        if (terminal) output.WriteLine();
        output.Flush();
    }

    private string Line()
    {
        double total = options.WarmupSeconds + options.DurationSeconds;
        double elapsed = Math.Min(runner.Elapsed, total);
        bool warming = elapsed < options.WarmupSeconds;
        var (ops, errors) = runner.Counts(measured: !warming);
        double span = warming ? elapsed : elapsed - options.WarmupSeconds;
        double rate = span > 0 ? ops / span : 0;
        string text = string.Create(CultureInfo.InvariantCulture,
            $"{(warming ? "warmup" : "bench ")} {elapsed,6:F1}/{total:F1} s  {rate,9:F0} ops/s  errors {errors}");
        if (!terminal) return text;
        const int width = 24;
        int filled = (int)Math.Round(width * (total > 0 ? elapsed / total : 1));
        return $"[{new string('#', filled)}{new string('.', width - filled)}] {text}";
    }

    private void Show(string line)
    {
        if (line == _last) return;
        _last = line;
        if (terminal)
        {
            output.Write('\r' + line.PadRight(_lastWidth));
            _lastWidth = line.Length;
        }
        else
        {
            output.WriteLine(line);
        }
        output.Flush();
    }
}
