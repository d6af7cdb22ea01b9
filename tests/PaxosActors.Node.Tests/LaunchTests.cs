using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PaxosActors.Node.Launch;

namespace PaxosActors.Node.Tests;

/// <summary>The one launcher of node processes: free ports, ports in use, and readiness that only its own node proves.</summary>
public sealed class LaunchTests
{
    [Fact]
    public void Free_ports_are_distinct_across_calls_and_never_the_local_clusters()
    {
        var ports = Enumerable.Range(0, 50).SelectMany(_ => FreePorts.Take(4)).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
        Assert.DoesNotContain(ports, FreePorts.LocalClusterPorts.Contains);
        foreach (int p in new[] { 8081, 8082, 8083, 4051, 4052, 4053 }) Assert.Contains(p, FreePorts.LocalClusterPorts);
    }

    [Fact]
    public void A_port_with_a_listener_is_in_use_and_free_again_once_it_closes()
    {
        int port = FreePorts.Take();
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Start();
        try
        {
            Assert.True(PortCheck.IsInUse(IPAddress.Loopback, port));
            var e = Assert.Throws<PortInUseException>(() => NodeProcess.CheckPorts(new NodeLaunch { NodeId = 2, HttpPort = FreePorts.Take(), RemotePort = port }));
            Assert.Equal(port, e.Port);
            Assert.Contains($"port {port} (remoting of node 2) is already in use", e.Message);
        }
        finally
        {
            listener.Stop();
        }
        Assert.False(PortCheck.IsInUse(IPAddress.Loopback, port));
    }

    [Theory]
    [InlineData("http")]
    [InlineData("remote")]
    public async Task Local_with_a_port_in_use_fails_fast_naming_the_port_and_starts_no_node(string held)
    {
        var ports = FreePorts.Take(2);
        int heldPort = held == "http" ? ports[0] : ports[1];
        // What a cluster already running on these ports looks like to a second `local`: something listens.
        var listener = new TcpListener(IPAddress.Loopback, heldPort);
        listener.Start();
        string dataDir = Path.Combine(Path.GetTempPath(), "paxos-node-tests-" + Guid.NewGuid().ToString("N"));
        try
        {
            var psi = NodeExecutable.StartInfo(["local", "--nodes", "1", "--http-port", $"{ports[0]}", "--remote-port", $"{ports[1]}",
                "--data-dir", dataDir]);
            psi.RedirectStandardOutput = true;
            psi.RedirectStandardError = true;
            var watch = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await p.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                p.Kill(entireProcessTree: true);
                throw;
            }
            string output = await stdout, errors = await stderr;

            Assert.True(p.ExitCode == 1, $"exit code {p.ExitCode}\nstdout: {output}\nstderr: {errors}");
            Assert.Contains($"port {heldPort} ({(held == "http" ? "HTTP" : "remoting")} of node 1) is already in use", errors);
            Assert.Contains("a `local` still running?", errors);
            Assert.DoesNotContain("starting", output); // no node was started
            Assert.DoesNotContain("cluster ready", output);
            Assert.False(Directory.Exists(dataDir), "a node ran and created the data directory");
            // Fast: the time to start the program, not to start a node and wait for it.
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        }
        finally
        {
            listener.Stop();
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>What the chaos harness counts a fault by: SIGSTOP shows as state T in /proc/PID/stat, SIGCONT ends it, and
    /// SIGKILL ends the process.</summary>
    [Fact]
    public async Task Pause_resume_and_kill_show_in_the_process_state()
    {
        var ports = FreePorts.Take(2);
        string dataDir = Path.Combine(Path.GetTempPath(), "paxos-node-tests-" + Guid.NewGuid().ToString("N"));
        using var node = new NodeProcess(new NodeLaunch
        {
            NodeId = 1, HttpPort = ports[0], RemotePort = ports[1], Seeds = $"127.0.0.1:{ports[1]}", Acceptors = "1", DataDir = dataDir,
        });
        try
        {
            node.Start();
            await node.WaitReadyAsync(TimeSpan.FromSeconds(60));
            Assert.NotEqual('T', node.OsState);

            Assert.True(node.Pause());
            Assert.True(await StateBecomesAsync(node, s => s == 'T'), $"not stopped after SIGSTOP: state {node.OsState}");
            Assert.True(node.Paused);
            Assert.False(node.Pause()); // already paused: nothing sent

            Assert.True(node.Resume());
            Assert.True(await StateBecomesAsync(node, s => s is not null and not 'T'), $"still stopped after SIGCONT: state {node.OsState}");
            Assert.False(node.Paused);

            node.Kill();
            Assert.False(node.Running);
            Assert.Null(node.OsState);
            Assert.False(node.Pause());
        }
        finally
        {
            node.Dispose();
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }

    private static async Task<bool> StateBecomesAsync(NodeProcess node, Func<char?, bool> wanted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!wanted(node.OsState))
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(10);
        }
        return true;
    }

    /// <summary>
    /// Another process takes the node's HTTP port after the launcher checked it and before the node binds it (a node
    /// needs a second or more to get there; the impostor takes milliseconds), and answers /status as a node would.
    /// Its answers must not make the node ready: the node cannot bind, exits, and the wait says so, naming the other.
    /// </summary>
    [Fact]
    public async Task Another_process_answering_status_on_the_nodes_port_does_not_make_it_ready()
    {
        var ports = FreePorts.Take(2);
        string dataDir = Path.Combine(Path.GetTempPath(), "paxos-node-tests-" + Guid.NewGuid().ToString("N"));
        using var node = new NodeProcess(new NodeLaunch
        {
            NodeId = 1, HttpPort = ports[0], RemotePort = ports[1], Seeds = $"127.0.0.1:{ports[1]}", Acceptors = "1", DataDir = dataDir,
        });
        node.Start();
        var impostor = new TcpListener(IPAddress.Loopback, ports[0]);
        impostor.Start();
        using var stop = new CancellationTokenSource();
        int asked = 0;
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await impostor.AcceptTcpClientAsync(stop.Token);
                var stream = client.GetStream();
                var buffer = new byte[4096];
                int n = await stream.ReadAsync(buffer, stop.Token);
                if (Encoding.ASCII.GetString(buffer, 0, n).StartsWith("GET /status", StringComparison.Ordinal)) Interlocked.Increment(ref asked);
                byte[] body = """{"node_id":1,"pid":4242,"instance":"someone-else"}"""u8.ToArray();
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), stop.Token);
                await stream.WriteAsync(body, stop.Token);
            }
        });
        try
        {
            var e = await Assert.ThrowsAsync<NodeNotReadyException>(() => node.WaitReadyAsync(TimeSpan.FromSeconds(60)));
            Assert.Contains("exited with code 1 before it was ready", e.Reason);
            Assert.Contains("answered by another process (pid 4242, instance someone-else)", e.Reason);
            Assert.True(asked > 0, "the launcher never asked the impostor");
            Assert.Contains(node.Output, l => l.Contains($"cannot serve HTTP on 127.0.0.1:{ports[0]}"));
        }
        finally
        {
            await stop.CancelAsync();
            impostor.Stop();
            await serving.ContinueWith(_ => { });
            if (Directory.Exists(dataDir)) Directory.Delete(dataDir, recursive: true);
        }
    }
}
