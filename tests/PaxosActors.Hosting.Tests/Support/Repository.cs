namespace PaxosActors.Hosting.Tests.Support;

/// <summary>The repository these tests were built from.</summary>
public static class Repository
{
    /// <summary>The folder of PaxosActors.sln above the test assembly.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PaxosActors.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no PaxosActors.sln above {AppContext.BaseDirectory}");
    }
}
