using System.Diagnostics;
using System.Net.Http.Headers;
using HdrHistogram;

namespace PaxosActors.Tools.Bench;

/// <summary>
/// Closed-loop load: each worker sends its next request as soon as the previous one answers. Worker i starts
/// on endpoint i mod n and moves to the next endpoint when a request throws (refused, reset, timeout). An op
/// counts when it completes inside the measured window (after the warmup, before the end); an op still in
/// flight at the end is cancelled and not counted. Successful ops are in the latency histogram; errors
/// (non-2xx other than 404 on a read, exceptions, timeouts) are counted on their own.
/// </summary>
public sealed class LoadRunner : IDisposable
{
    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");
    private const int ErrorBackoffMs = 10;

    private readonly BenchOptions _options;
    private readonly HttpClient _http;
    private readonly Uri[] _bases;
    private readonly Uri?[][] _keyUris; // per endpoint, filled lazily
    private readonly Worker[] _workers;
    private readonly Stopwatch _clock = new();
    private long _warmupEndTicks, _runEndTicks;
    private bool _interrupted;

    public LoadRunner(BenchOptions options, IReadOnlyList<string> endpoints)
    {
        _options = options;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            MaxConnectionsPerServer = Math.Max(options.Workers, 1),
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(2),
        }) { Timeout = Timeout.InfiniteTimeSpan };
        _bases = endpoints.Select(e => new Uri(e.EndsWith('/') ? e : e + "/")).ToArray();
        _keyUris = _bases.Select(_ => new Uri?[options.Keys]).ToArray();
        _workers = Enumerable.Range(0, options.Workers).Select(i => new Worker(this, i)).ToArray();
    }

    /// <summary>Seconds since <see cref="RunAsync"/> began.</summary>
    public double Elapsed => _clock.Elapsed.TotalSeconds;

    /// <summary>Ops, errors (warmup included when <paramref name="measured"/> is false) so far, for progress.</summary>
    public (long Ops, long Errors) Counts(bool measured)
    {
        long ops = 0, errors = 0;
        foreach (var w in _workers)
        {
            ops += Interlocked.Read(ref measured ? ref w.Ops : ref w.WarmupOps);
            errors += Interlocked.Read(ref measured ? ref w.Errors : ref w.WarmupErrors);
        }
        return (ops, errors);
    }

    /// <summary>Runs the warmup and the measured window; ends early (counting what completed) on <paramref name="ct"/>.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var freq = Stopwatch.Frequency;
        _warmupEndTicks = (long)(_options.WarmupSeconds * freq);
        _runEndTicks = (long)((_options.WarmupSeconds + _options.DurationSeconds) * freq);
        using var end = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _clock.Start();
        end.CancelAfter(TimeSpan.FromSeconds(_options.WarmupSeconds + _options.DurationSeconds));
        await Task.WhenAll(_workers.Select(w => Task.Run(() => w.RunAsync(end.Token), CancellationToken.None)));
        _clock.Stop();
        _interrupted = ct.IsCancellationRequested;
    }

    /// <summary>The totals of the measured window, latencies included.</summary>
    public BenchResult Result(BenchOptions options)
    {
        var hist = BenchResult.NewHistogram();
        long ops = 0, errors = 0, timeouts = 0, reads = 0, writes = 0;
        foreach (var w in _workers)
        {
            hist.Add(w.Latency);
            ops += w.Ops; errors += w.Errors; timeouts += w.Timeouts; reads += w.Reads; writes += w.Writes;
        }
        // The end timer may fire a hair before the stopwatch reaches it; only an interrupted run is shorter.
        double measured = _interrupted
            ? Math.Clamp(_clock.Elapsed.TotalSeconds - options.WarmupSeconds, 0, options.DurationSeconds)
            : options.DurationSeconds;
        return new BenchResult
        {
            Options = options, Ops = ops, Errors = errors, Timeouts = timeouts, Reads = reads, Writes = writes,
            DurationSeconds = measured,
        }.WithLatencies(hist);
    }

    public void Dispose() => _http.Dispose();

    private Uri KeyUri(int endpoint, int key) =>
        _keyUris[endpoint][key] ??= new Uri(_bases[endpoint], $"kv/bench-{key:D6}");

    private sealed class Worker(LoadRunner runner, int id)
    {
        public long Ops, Errors, Timeouts, Reads, Writes, WarmupOps, WarmupErrors;
        public readonly LongHistogram Latency = BenchResult.NewHistogram();
        private readonly byte[] _value = new byte[runner._options.ValueSize];
        private readonly byte[] _readBuffer = new byte[Math.Max(4096, runner._options.ValueSize)];
        private int _endpoint = id % runner._bases.Length;
        private long _seq;

        public async Task RunAsync(CancellationToken end)
        {
            var o = runner._options;
            var rng = new Random(unchecked(o.Seed * 7919 + id));
            rng.NextBytes(_value);
            for (int i = 0; i < _value.Length; i++) _value[i] = (byte)('a' + _value[i] % 26);
            // One source per worker, linked to the end of the run, re-armed per request (no allocation unless it fired).
            var timeout = CancellationTokenSource.CreateLinkedTokenSource(end);
            try
            {
                while (!end.IsCancellationRequested)
                {
                    bool isRead = o.ReadRatio > 0 && rng.NextDouble() < o.ReadRatio;
                    int key = rng.Next(o.Keys);
                    if (!timeout.TryReset())
                    {
                        timeout.Dispose();
                        timeout = CancellationTokenSource.CreateLinkedTokenSource(end);
                    }
                    long start = Stopwatch.GetTimestamp();
                    Outcome outcome = await SendAsync(isRead, key, timeout, end);
                    long stop = runner._clock.ElapsedTicks;
                    if (outcome == Outcome.Cancelled) break; // the run ended while this op was in flight
                    if (stop > runner._warmupEndTicks && stop <= runner._runEndTicks)
                    {
                        if (outcome == Outcome.Ok)
                        {
                            long us = Stopwatch.GetElapsedTime(start).Ticks / TimeSpan.TicksPerMicrosecond;
                            Latency.RecordValue(Math.Clamp(us, 0, BenchResult.MaxLatencyUs));
                            if (isRead) Reads++; else Writes++;
                            Interlocked.Increment(ref Ops);
                        }
                        else
                        {
                            if (outcome == Outcome.Timeout) Timeouts++;
                            Interlocked.Increment(ref Errors);
                        }
                    }
                    else if (stop <= runner._warmupEndTicks)
                    {
                        Interlocked.Increment(ref outcome == Outcome.Ok ? ref WarmupOps : ref WarmupErrors);
                    }
                    if (outcome != Outcome.Ok)
                    {
                        // Not in a hot loop against a node that is down; outside the latency.
                        try { await Task.Delay(ErrorBackoffMs, end); } catch (OperationCanceledException) { break; }
                    }
                }
            }
            finally
            {
                timeout.Dispose();
            }
        }

        private async Task<Outcome> SendAsync(bool isRead, int key, CancellationTokenSource timeout, CancellationToken end)
        {
            var token = timeout.Token;
            timeout.CancelAfter(runner._options.TimeoutMs);
            using var request = new HttpRequestMessage(isRead ? HttpMethod.Get : HttpMethod.Put, runner.KeyUri(_endpoint, key));
            if (!isRead)
            {
                StampValue();
                request.Content = new ByteArrayContent(_value);
                request.Content.Headers.ContentType = OctetStream;
            }
            try
            {
                using var response = await runner._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                await using (var body = await response.Content.ReadAsStreamAsync(token))
                    while (await body.ReadAsync(_readBuffer, token) > 0) { }
                int code = (int)response.StatusCode;
                return code is >= 200 and < 300 || (isRead && code == 404) ? Outcome.Ok : Outcome.Error;
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
            {
                if (end.IsCancellationRequested) return Outcome.Cancelled;
                _endpoint = (_endpoint + 1) % runner._bases.Length;
                return timeout.IsCancellationRequested ? Outcome.Timeout : Outcome.Error;
            }
        }

        /// <summary>Writes a sequence number over the start of the value, so successive writes differ.</summary>
        private void StampValue()
        {
            long n = _seq++;
            int i = Math.Min(_value.Length, 20) - 1;
            for (; i >= 0; i--, n /= 10) _value[i] = (byte)('0' + n % 10);
        }
    }

    private enum Outcome { Ok, Error, Timeout, Cancelled }
}
