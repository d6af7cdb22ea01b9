using System.Text.RegularExpressions;

using PaxosActors.Hosting.Tests.Support;

namespace PaxosActors.Hosting.Tests;

/// <summary>README's "Using PaxosActors in an Akka.NET application" shows code that compiles: every C# block in it is a
/// piece of a source file of the repository (the sample application, the library), line for line.</summary>
public sealed partial class ReadmeSpec
{
    [Fact]
    public void Every_csharp_block_of_the_Akka_NET_section_is_code_of_the_repository_as_it_is()
    {
        string root = Repository.Root();
        string readme = File.ReadAllText(Path.Combine(root, "README.md"));
        int start = readme.IndexOf("\n## Using PaxosActors in an Akka.NET application", StringComparison.Ordinal);
        Assert.True(start >= 0, "README has no section for Akka.NET users");
        int end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var blocks = CsharpBlock().Matches(readme[start..end]).Select(m => Lines(m.Groups[1].Value.Split('\n'))).ToList();
        var sources = new[] { "src", "samples" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .Select(f => Lines(File.ReadAllLines(f)))
            .ToList();

        Assert.True(blocks.Count >= 2, $"only {blocks.Count} C# blocks in the section");
        foreach (var block in blocks)
            Assert.True(sources.Any(lines => Enumerable.Range(0, Math.Max(0, lines.Count - block.Count + 1))
                    .Any(i => lines.Skip(i).Take(block.Count).SequenceEqual(block))),
                $"this README block is not in any source file as shown:\n{string.Join("\n", block)}");
    }

    private static List<string> Lines(IEnumerable<string> lines) => lines.Select(l => l.Trim()).Where(l => l.Length > 0).ToList();


    [GeneratedRegex("```csharp\\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CsharpBlock();
}
