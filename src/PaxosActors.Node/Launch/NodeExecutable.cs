using System.Diagnostics;

namespace PaxosActors.Node.Launch;

/// <summary>
/// How to run the paxos-actors executable as a child process: this very program when it is what runs (the
/// <c>local</c> command), else <c>dotnet paxos-actors.dll</c> from wherever this assembly was loaded. A program or test
/// that references src/PaxosActors.Node as a project gets paxos-actors.dll with its runtimeconfig and deps copied next
/// to its own, so the build that builds it also builds the nodes it starts. <c>PAXOS_ACTORS_DLL</c> overrides the dll.
/// </summary>
public static class NodeExecutable
{
    /// <summary>Names a paxos-actors.dll to run instead of the one next to this assembly.</summary>
    public const string OverrideVariable = "PAXOS_ACTORS_DLL";

    /// <summary>The paxos-actors.dll that child processes run.</summary>
    public static string Dll
    {
        get
        {
            if (Environment.GetEnvironmentVariable(OverrideVariable) is { Length: > 0 } set)
                return File.Exists(set) ? Path.GetFullPath(set) : throw new FileNotFoundException($"{OverrideVariable}={set}: no such file");
            return typeof(NodeExecutable).Assembly.Location;
        }
    }

    /// <summary>A start for the executable with <paramref name="args"/>; the standard streams are not redirected yet.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        string dll = Dll;
        var psi = new ProcessStartInfo { UseShellExecute = false };
        string? self = Environment.ProcessPath;
        if (Environment.GetEnvironmentVariable(OverrideVariable) is not { Length: > 0 } && self is not null &&
            Path.GetFileNameWithoutExtension(self) == Path.GetFileNameWithoutExtension(dll))
        {
            psi.FileName = self; // this program's own apphost
        }
        else
        {
            if (!File.Exists(Path.ChangeExtension(dll, ".runtimeconfig.json")))
                throw new FileNotFoundException($"{dll} has no runtimeconfig.json beside it, so it cannot run as a program: reference " +
                                                $"src/PaxosActors.Node as a project (its build output is then copied next to yours), or set {OverrideVariable}");
            psi.FileName = DotnetHost();
            psi.ArgumentList.Add(dll);
        }
        foreach (string a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
}
