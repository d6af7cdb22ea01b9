using System.Diagnostics;
using System.Net;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace PaxosActors.Node.Launch;

/// <summary>
/// One paxos-actors <c>node</c> process, as everything that starts nodes runs it: the <c>local</c> command, the chaos
/// harness and the benchmark (paxos-tools) and the multi-process tests. Started from <see cref="NodeLaunch"/> once its
/// ports are known to be free; restarted as a new incarnation (the same options) after it exits; killed (SIGKILL, a
/// real crash), paused and resumed (SIGSTOP/SIGCONT: its sockets stay open while it answers nothing, as a process in a
/// long GC pause), or stopped gracefully by closing its stdin. Each incarnation gets a nonce in <c>PAXOS_INSTANCE</c>,
/// which its <c>/status</c> echoes as <c>instance</c>: <see cref="WaitReadyAsync"/> accepts no other process's
/// answer on the port. Output goes to an optional callback and file, and the last lines are kept for reports.
/// Disposing kills the process if it still runs.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Action<NodeOutputLine>? _output;
    private readonly StreamWriter? _file;
    private readonly Queue<string> _kept = new();
    private readonly int _keepLines;
    private readonly Lock _lock = new();
    private Process? _process;
    private Task _exited = Task.CompletedTask;
    private bool _disposed;

    /// <param name="launch">The node's options.</param>
    /// <param name="output">Called with every line the node prints and every launcher event, from any thread.</param>
    /// <param name="outputFile">A file every line is appended to (launcher events as <c>=== ...</c>).</param>
    /// <param name="keepLines">How many of the last lines <see cref="Output"/> keeps.</param>
    public NodeProcess(NodeLaunch launch, Action<NodeOutputLine>? output = null, string? outputFile = null, int keepLines = 10_000)
    {
        Launch = launch;
        _output = output;
        _keepLines = keepLines;
        if (outputFile is not null) _file = new StreamWriter(outputFile, append: true) { AutoFlush = true };
    }

    public NodeLaunch Launch { get; }
    public int Id => Launch.NodeId;
    public int HttpPort => Launch.HttpPort;
    public int RemotePort => Launch.RemotePort;
    public string Url => Launch.Url;
    public string RemoteEndpoint => Launch.RemoteEndpoint;

    /// <summary>How many times the process was started; the current incarnation's number.</summary>
    public int Starts { get; private set; }

    /// <summary>The current incarnation's nonce (<c>PAXOS_INSTANCE</c>), or null before the first start.</summary>
    public string? Instance { get; private set; }

    /// <summary>The current incarnation's process, or null before the first start.</summary>
    public Process? Process => _process;

    public bool Running => _process is { HasExited: false };

    /// <summary>Stopped by SIGSTOP and not resumed.</summary>
    public bool Paused { get; private set; }

    /// <summary>The exit code of the last incarnation that exited, or null.</summary>
    public int? ExitCode { get; private set; }

    /// <summary>Completes when the current incarnation has exited and its exit is recorded.</summary>
    public Task Exited => _exited;

    /// <summary>The last lines of output of every incarnation, each tagged with the node and incarnation.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lock) return _kept.ToList();
        }
    }

    /// <summary>Starts a new incarnation. <paramref name="environment"/> adds to <see cref="NodeLaunch.Environment"/> for
    /// this start only (say, the partitions a restarted node must be cut off by from its first moment).</summary>
    /// <exception cref="PortInUseException">The HTTP or remoting port is taken.</exception>
    public void Start(IReadOnlyDictionary<string, string>? environment = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Running) throw new InvalidOperationException($"node {Id} is running");
        CheckPorts(Launch);

        var psi = NodeExecutable.StartInfo(Launch.Arguments());
        psi.RedirectStandardInput = true;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        if (Launch.WorkingDirectory is { } dir) psi.WorkingDirectory = dir;
        // node.hocon reads PAXOS_* variables: a developer's own settings must not leak into the launched node.
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("PAXOS_", StringComparison.Ordinal)).ToList())
            psi.Environment.Remove(key);
        foreach (var (k, v) in Launch.Environment) psi.Environment[k] = v;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        string instance = Guid.NewGuid().ToString("N");
        psi.Environment[Http.StatusApi.InstanceVariable] = instance;

        int incarnation = Starts + 1;
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Emit(incarnation, NodeOutputSource.Stdout, e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Emit(incarnation, NodeOutputSource.Stderr, e.Data); };
        p.Start();
        Starts = incarnation;
        Instance = instance;
        Paused = false;
        _process = p;
        Emit(incarnation, NodeOutputSource.Launcher, $"started, pid {p.Id}, at {DateTime.UtcNow:HH:mm:ss.fff} UTC");
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _exited = RecordExitAsync(p, incarnation);
    }

    /// <summary>Throws if a port <paramref name="launch"/> needs is taken: before starting any node of a cluster,
    /// so that none starts.</summary>
    /// <exception cref="PortInUseException">The HTTP or remoting port is taken.</exception>
    public static void CheckPorts(NodeLaunch launch)
    {
        var address = IPAddress.TryParse(launch.Host, out var ip) ? ip : IPAddress.Loopback;
        if (PortCheck.IsInUse(address, launch.HttpPort))
            throw new PortInUseException(launch.HttpPort, $"HTTP of node {launch.NodeId}", launch.Host);
        if (PortCheck.IsInUse(address, launch.RemotePort))
            throw new PortInUseException(launch.RemotePort, $"remoting of node {launch.NodeId}", launch.Host);
    }

    private async Task RecordExitAsync(Process p, int incarnation)
    {
        await p.WaitForExitAsync();
        ExitCode = p.ExitCode;
        Emit(incarnation, NodeOutputSource.Launcher, $"exited with code {ExitCode} at {DateTime.UtcNow:HH:mm:ss.fff} UTC");
    }

    /// <summary>Records <paramref name="text"/> among the launcher's lines of the current incarnation (output callback,
    /// file, <see cref="Output"/>): what a harness did to the node, next to what the node printed.</summary>
    public void Note(string text) => Emit(Starts, NodeOutputSource.Launcher, text);

    /// <summary>SIGKILL: no shutdown, no leaving the cluster, whatever the node had not made durable is lost.
    /// Returns once the process is gone.</summary>
    public void Kill()
    {
        if (_process is not { HasExited: false } p) return;
        Emit(Starts, NodeOutputSource.Launcher, $"SIGKILL pid {p.Id}");
        try
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
        catch (InvalidOperationException) { } // it exited meanwhile
        Paused = false;
    }

    /// <summary>SIGSTOP: the process stops running, with every socket open. False if there was no running process to
    /// signal or the signal could not be sent. The signal is asynchronous: <see cref="OsState"/> says when it took effect.</summary>
    public bool Pause()
    {
        if (_process is not { HasExited: false } p || Paused) return false;
        Emit(Starts, NodeOutputSource.Launcher, $"SIGSTOP pid {p.Id}");
        bool sent = SendSignal(p.Id, SigStop) == 0;
        Paused = sent;
        if (!sent) Emit(Starts, NodeOutputSource.Launcher, $"SIGSTOP pid {p.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        return sent;
    }

    /// <summary>SIGCONT after <see cref="Pause"/>. False if there was nothing to resume or the signal could not be sent.</summary>
    public bool Resume()
    {
        if (_process is not { HasExited: false } p || !Paused) return false;
        bool sent = SendSignal(p.Id, SigCont) == 0;
        Paused = !sent;
        Emit(Starts, NodeOutputSource.Launcher, sent ? $"SIGCONT pid {p.Id}" : $"SIGCONT pid {p.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        return sent;
    }

    /// <summary>
    /// The state letter the kernel reports for the current incarnation in <c>/proc/PID/stat</c>: <c>R</c> running,
    /// <c>S</c>/<c>D</c> sleeping, <c>T</c> stopped (by SIGSTOP), <c>Z</c> exited but not reaped; null if the process is
    /// gone or there is no <c>/proc</c> (not Linux). What a harness checks to know a signal took effect.
    /// </summary>
    public char? OsState
    {
        get
        {
            if (_process is not { } p) return null;
            int pid;
            try
            {
                pid = p.Id;
            }
            catch (InvalidOperationException)
            {
                return null;
            }
            return ReadOsState(pid);
        }
    }

    /// <summary>The state letter of <c>/proc/<paramref name="pid"/>/stat</c>, or null.</summary>
    public static char? ReadOsState(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // "pid (comm) S ...": comm may hold spaces and parentheses, so the state follows the last ')'.
        int close = stat.LastIndexOf(')');
        return close >= 0 && close + 2 < stat.Length ? stat[close + 2] : null;
    }

    /// <summary>A graceful stop: the node leaves the cluster and exits when its stdin closes; killed if it has not
    /// exited within <paramref name="grace"/> (15 s by default).</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process is not { HasExited: false } p) return;
        Resume(); // a paused process would never read the end of its stdin
        try
        {
            p.StandardInput.Close();
        }
        catch (IOException) { } // the pipe is gone: it is exiting anyway
        using var timeout = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(15));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
        await _exited;
    }

    /// <summary>Until <paramref name="ct"/> is cancelled: whenever the process exits on its own, says so and, with
    /// <paramref name="restart"/>, starts it again after <paramref name="delay"/> (1 s); without, returns.</summary>
    public async Task KeepAliveAsync(bool restart, CancellationToken ct, TimeSpan? delay = null)
    {
        var wait = delay ?? TimeSpan.FromSeconds(1);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await _exited.WaitAsync(ct);
                if (!restart) return;
                Emit(Starts, NodeOutputSource.Launcher, $"restarting it in {wait.TotalSeconds:0.###} s");
                await Task.Delay(wait, ct);
                Start();
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (PortInUseException e)
            {
                Emit(Starts, NodeOutputSource.Launcher, $"cannot restart: {e.Message}");
                try { await Task.Delay(wait, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// Waits until this incarnation answers <c>GET /status</c> with 200 and its own <see cref="Instance"/>: another
    /// process answering on the port (a cluster already running there) does not count.
    /// </summary>
    /// <exception cref="NodeNotReadyException">The process exited first, or <paramref name="limit"/> passed.</exception>
    public async Task WaitReadyAsync(TimeSpan limit, CancellationToken ct = default)
    {
        if (_process is null) throw new InvalidOperationException($"node {Id} was not started");
        string? instance = Instance;
        var exited = _exited;
        var deadline = DateTime.UtcNow + limit;
        string? other = null;
        using var http = Launch.NewHttpClient(TimeSpan.FromSeconds(2));
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (exited.IsCompleted) throw NotReady($"exited with code {ExitCode} before it was ready", other);
            try
            {
                using var resp = await http.GetAsync($"{Url}/status", ct);
                if (resp.StatusCode == HttpStatusCode.OK)
                {
                    using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync(ct));
                    var root = doc.RootElement;
                    string? answered = root.TryGetProperty("instance", out var i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
                    if (answered == instance) return;
                    other = $"pid {(root.TryGetProperty("pid", out var pid) ? pid.ToString() : "?")}, instance {answered ?? "none"}";
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                // not listening yet, or not a node
            }
            if (DateTime.UtcNow > deadline) throw NotReady($"did not answer GET {Url}/status within {limit.TotalSeconds:0.#} s", other);
            await Task.WhenAny(Task.Delay(200, ct), exited);
        }
    }

    /// <summary><see cref="WaitReadyAsync"/>, then until a <c>PUT /kv/{key}</c> through this node succeeds: a leader
    /// elected, a quorum of acceptors reached, the write applied.</summary>
    /// <exception cref="NodeNotReadyException">The process exited first, or <paramref name="limit"/> passed.</exception>
    public async Task WaitWritableAsync(TimeSpan limit, CancellationToken ct = default, string key = "__ready")
    {
        var deadline = DateTime.UtcNow + limit;
        await WaitReadyAsync(limit, ct);
        var exited = _exited;
        using var http = Launch.NewHttpClient(TimeSpan.FromSeconds(10));
        string last = "no answer";
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            if (exited.IsCompleted) throw NotReady($"exited with code {ExitCode} before it took a write", null);
            try
            {
                using var body = new ByteArrayContent("ready"u8.ToArray());
                using var resp = await http.PutAsync($"{Url}/kv/{key}", body, ct);
                if (resp.StatusCode == HttpStatusCode.NoContent) return;
                last = $"{(int)resp.StatusCode} {await resp.Content.ReadAsStringAsync(ct)}";
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                last = e.Message;
            }
            if (DateTime.UtcNow > deadline) throw NotReady($"took no write within {limit.TotalSeconds:0.#} s (last: {last})", null);
            await Task.WhenAny(Task.Delay(100, ct), exited);
        }
    }

    private NodeNotReadyException NotReady(string what, string? other)
    {
        string answered = other is null ? "" :
            $"; {Url} was answered by another process ({other}): is another cluster running on port {HttpPort}?";
        return new NodeNotReadyException($"node {Id} {what}{answered}", string.Join("\n", Output.TakeLast(40)));
    }

    private void Emit(int incarnation, NodeOutputSource source, string text)
    {
        var line = new NodeOutputLine(Id, incarnation, source, text);
        lock (_lock)
        {
            _kept.Enqueue(line.ToString());
            while (_kept.Count > _keepLines) _kept.Dequeue();
            if (!_disposed) _file?.WriteLine(source == NodeOutputSource.Launcher ? $"=== {text}" : text);
        }
        _output?.Invoke(line);
    }

    public void Dispose()
    {
        if (_disposed) return;
        Kill();
        // Let the exit be recorded (it reads the exit code) before the process object goes.
        if (_process is not null && !_exited.Wait(TimeSpan.FromSeconds(10)))
            Emit(Starts, NodeOutputSource.Launcher, "did not exit within 10 s of SIGKILL");
        _process?.Dispose();
        lock (_lock)
        {
            _disposed = true;
            _file?.Dispose();
        }
    }

    // Linux (x86-64, arm64) numbers; macOS has its own.
    private static int SigStop => OperatingSystem.IsMacOS() ? 17 : 19;
    private static int SigCont => OperatingSystem.IsMacOS() ? 19 : 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}

/// <summary>A node process that did not get ready: it exited first, or took too long. The message ends with its last output.</summary>
public sealed class NodeNotReadyException(string reason, string lastOutput) : Exception($"{reason}\n{lastOutput}")
{
    /// <summary>What went wrong, without the output.</summary>
    public string Reason { get; } = reason;
}
