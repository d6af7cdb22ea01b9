using System.Diagnostics;

namespace PaxosActors.Durability.Tests.Support;

/// <summary>
/// native/powercut.c, compiled with the machine's C compiler into an LD_PRELOAD library: in a process started with
/// <see cref="Environment"/>, the files under a directory keep every write in memory until fsync, so a SIGKILL loses
/// what was not fsynced, as a power cut does (the source's header says how and which calls).
/// </summary>
public static class PowerCutLibrary
{
    /// <summary>Where the test run finds the source (copied next to the tests by the project).</summary>
    public static string Source => Path.Combine(AppContext.BaseDirectory, "native", "powercut.c");

    /// <summary>Compiles the library into <paramref name="directory"/> and returns its path. Fails, never skips, on
    /// a machine where it cannot run: not Linux, or no C compiler.</summary>
    public static string Build(string directory)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException(
                "the power-cut test needs Linux: it runs the nodes with an LD_PRELOAD library (native/powercut.c)");
        string? ccVariable = System.Environment.GetEnvironmentVariable("CC") is { Length: > 0 } set ? set : null;
        string compiler = FindCompiler(ccVariable) ?? throw new InvalidOperationException(
            "the power-cut test needs a C compiler to build its LD_PRELOAD library from " + Source + ": " +
            (ccVariable is null ? "none of cc, gcc, clang is on PATH" : $"CC={ccVariable} is not found") +
            ". Install one (e.g. apt-get install gcc); CI machines have gcc.");
        Directory.CreateDirectory(directory);
        string library = Path.Combine(directory, "libpowercut.so");
        var psi = new ProcessStartInfo(compiler)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // No _FORTIFY_SOURCE: its inline wrappers of read, open and friends would clash with the library's own.
        foreach (string a in new[] { "-shared", "-fPIC", "-O2", "-Wall", "-U_FORTIFY_SOURCE", "-o", library, Source, "-ldl", "-lpthread" })
            psi.ArgumentList.Add(a);
        using var cc = Process.Start(psi)!;
        var stdout = cc.StandardOutput.ReadToEndAsync();
        string stderr = cc.StandardError.ReadToEnd();
        if (!cc.WaitForExit(60_000))
        {
            cc.Kill();
            throw new InvalidOperationException($"{compiler} did not build {Source} within 60 s");
        }
        if (cc.ExitCode != 0 || !File.Exists(library))
            throw new InvalidOperationException($"{compiler} failed to build {Source} (exit {cc.ExitCode}):\n{stdout.Result}{stderr}");
        return library;
    }

    /// <summary>The variables that load the library into a process and point it at <paramref name="dataDir"/>;
    /// it notes each file it covers and each fsync in <paramref name="log"/>.</summary>
    public static Dictionary<string, string> Environment(string library, string dataDir, string log) => new()
    {
        ["LD_PRELOAD"] = library,
        ["POWERCUT_DIR"] = dataDir,
        ["POWERCUT_LOG"] = log,
    };

    /// <summary>$CC if set (a path, or a name on PATH), else the first of cc, gcc, clang on PATH.</summary>
    private static string? FindCompiler(string? cc)
    {
        if (cc is not null) return Path.IsPathRooted(cc) ? (File.Exists(cc) ? cc : null) : OnPath(cc);
        return new[] { "cc", "gcc", "clang" }.Select(OnPath).FirstOrDefault(p => p is not null);
    }

    private static string? OnPath(string name) =>
        (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name))
        .FirstOrDefault(File.Exists);
}
