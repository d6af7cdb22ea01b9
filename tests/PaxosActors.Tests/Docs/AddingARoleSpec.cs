using System.Text.RegularExpressions;

namespace PaxosActors.Tests.Docs;

/// <summary>README's "Adding a role" shows code that compiles: every C# block in it is a piece of a file the build
/// compiles (the samples, the shell), line for line, doc comments and trailing comments aside.</summary>
public sealed partial class AddingARoleSpec
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "PaxosActors.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no PaxosActors.sln above {AppContext.BaseDirectory}");
    }

    private static List<string> Normalized(IEnumerable<string> lines) =>
        lines.Select(l => TrailingComment().Replace(l, "").Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("///", StringComparison.Ordinal))
            .ToList();

    [Fact]
    public void Every_csharp_block_of_Adding_a_role_is_code_of_the_samples_or_the_shell_as_it_is()
    {
        string root = Root();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int start = readme.IndexOf("\n## Adding a role", StringComparison.Ordinal);
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = readme[start..end];
        var blocks = CsharpBlock().Matches(section).Select(m => Normalized(m.Groups[1].Value.Split('\n'))).ToList();
        var sources = new[] { "src", "samples" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .ToDictionary(f => Path.GetRelativePath(root, f), f => Normalized(File.ReadAllLines(f)));

        Assert.True(blocks.Count >= 4, $"only {blocks.Count} C# blocks in the section");
        foreach (var block in blocks)
        {
            bool found = sources.Values.Any(lines => Enumerable.Range(0, Math.Max(0, lines.Count - block.Count + 1))
                .Any(i => lines.Skip(i).Take(block.Count).SequenceEqual(block)));
            Assert.True(found, $"this README block is not in any source file as shown:\n{string.Join("\n", block)}");
        }
    }

    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CsharpBlock();

    // A comment after code (whitespace, then //), not the // of a URL.
    [GeneratedRegex(@"(?<=\S)\s+//(?!/).*$")]
    private static partial Regex TrailingComment();
}
