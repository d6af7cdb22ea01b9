using System.Diagnostics;
using System.Runtime.InteropServices;

namespace PaxosActors.Node.Chaos;

/// <summary>
/// One node of a chaos cluster: this program's <c>node</c> command in a child process, with fault
/// injection on, its output appended to a log file. Killing it is a real crash (SIGKILL); pausing it is
/// SIGSTOP, so its sockets stay open while it answers nothing, as a process stuck in a long GC would.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly string[] _args;
    private readonly StreamWriter _log;
    private readonly Lock _logLock = new();
    private Process? _process;

    public NodeProcess(int id, int httpPort, int remotePort, string[] args, string logPath)
    {
        Id = id;
        HttpPort = httpPort;
        RemotePort = remotePort;
        _args = args;
        _log = new StreamWriter(logPath, append: true) { AutoFlush = true };
    }

    public int Id { get; }
    public int HttpPort { get; }
    public int RemotePort { get; }
    public string Url => $"http://127.0.0.1:{HttpPort}";
    public string RemoteEndpoint => $"127.0.0.1:{RemotePort}";
    public bool Running => _process is { HasExited: false };
    public bool Paused { get; private set; }

    /// <summary>Endpoints this node must not reach from its very start (a partition that outlives a crash).</summary>
    public IReadOnlyCollection<string> BlockedAtStart { get; set; } = [];

    public void Start()
    {
        var psi = Commands.LocalNodeProcess.SelfStartInfo(_args);
        psi.Environment["PAXOS_FAULT_INJECTION"] = "on";
        psi.Environment["PAXOS_FAULT_BLOCKED"] = string.Join(",", BlockedAtStart);
        psi.Environment["DOTNET_gcServer"] = "0";
        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) Log(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _process = p;
        Paused = false;
        Log($"=== chaos: started, pid {p.Id}");
    }

    /// <summary>SIGKILL: no shutdown, no flush beyond what the node already made durable.</summary>
    public void Kill()
    {
        if (_process is not { HasExited: false } p) return;
        Log($"=== chaos: SIGKILL pid {p.Id}");
        p.Kill();
        p.WaitForExit(10_000);
        Paused = false;
    }

    public void Pause()
    {
        if (_process is not { HasExited: false } p || Paused) return;
        Log($"=== chaos: SIGSTOP pid {p.Id}");
        _ = SendSignal(p.Id, SIGSTOP);
        Paused = true;
    }

    public void Resume()
    {
        if (_process is not { HasExited: false } p || !Paused) return;
        _ = SendSignal(p.Id, SIGCONT);
        Paused = false;
        Log($"=== chaos: SIGCONT pid {p.Id}");
    }

    public void Log(string line)
    {
        lock (_logLock) _log.WriteLine(line);
    }

    public void Dispose()
    {
        if (_process is { HasExited: false } p)
        {
            try
            {
                p.Kill();
                p.WaitForExit(10_000);
            }
            catch (InvalidOperationException) { }
        }
        _process?.Dispose();
        lock (_logLock) _log.Dispose();
    }

    private const int SIGSTOP = 19; // Linux x86-64 and arm64
    private const int SIGCONT = 18;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);
}
