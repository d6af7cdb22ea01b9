using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using PaxosActors.Node.Launch;

using PaxosActors.Hosting.Tests.Support;

namespace PaxosActors.Hosting.Tests;

/// <summary>
/// The NuGet packages as a user gets them: <c>dotnet pack</c> of the four packable projects into a feed folder of this
/// test's own, then samples/SingletonLeaseApp restored from that feed alone (no project references, no network: the
/// rest comes from the machine's package cache), built and run. It must start its Cluster Singleton under the Paxos lease.
/// </summary>
public sealed class PackagesSpec(ITestOutputHelper output) : IDisposable
{
    private static readonly string[] Packable = ["PaxosActors.Core", "PaxosActors", "PaxosActors.Kv", "PaxosActors.Coordination"];
    private readonly string _work = Path.Combine(Path.GetTempPath(), "paxos-actors-packages-tests", Guid.NewGuid().ToString("N"));
    // A version of this run's own, so the machine's package cache never hands back an earlier run's packages.
    private readonly string _version = $"0.1.0-test.{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task The_sample_restores_from_the_packed_packages_and_runs_a_singleton_guarded_by_the_Paxos_lease()
    {
        string root = Repository.Root();
        string feed = Path.Combine(_work, "feed");
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        // Built already (this test project references them); each pack only writes its own package.
        await Task.WhenAll(Packable.Select(project =>
            Dotnet(root, "pack", $"src/{project}/{project}.csproj", "-c", configuration, "--no-build", "-o", feed, $"-p:Version={_version}")));

        foreach (string project in Packable)
        {
            Assert.True(File.Exists(Path.Combine(feed, $"{project}.{_version}.snupkg")), $"{project}: no symbols package");
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"{project}.{_version}.nupkg"));
            Assert.NotNull(package.GetEntry("README.md"));
            using var nuspec = new StreamReader(package.GetEntry($"{project}.nuspec")!.Open());
            string text = await nuspec.ReadToEndAsync();
            Assert.Contains("<license type=\"expression\">Apache-2.0</license>", text);
            Assert.Matches("<description>.{40,}</description>", text);
        }

        string config = Path.Combine(_work, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="feed" value="{feed}" /></packageSources></configuration>
            """);
        string bin = Path.Combine(_work, "app");
        await Dotnet(root, "build", "samples/SingletonLeaseApp/SingletonLeaseApp.csproj", "--configfile", config,
            $"-p:PaxosActorsVersion={_version}", "-o", bin);

        var run = await Dotnet(root, Path.Combine(bin, "SingletonLeaseApp.dll"), FreePorts.Take().ToString(), Path.Combine(_work, "data"));
        Assert.Matches(@"singleton started under Paxos lease '.+' with fencing token \d+", run);
    }

    private async Task<string> Dotnet(string dir, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} did not finish in 4 minutes");
        }
        string text = await stdout + await stderr;
        output.WriteLine($"dotnet {args[0]} ({watch.Elapsed.TotalSeconds:0.0} s)");
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', args)} exited {process.ExitCode}:\n{text}");
        return text;
    }


    public void Dispose()
    {
        try { Directory.Delete(_work, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        // This run's packages in the machine's cache: only this test's version, nothing else.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string project in Packable)
        {
            try { Directory.Delete(Path.Combine(cache, project.ToLowerInvariant(), _version), true); }
            catch (DirectoryNotFoundException) { }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
