namespace PaxosActors.Node.Launch;

/// <summary>Where a line of a node's output came from.</summary>
public enum NodeOutputSource
{
    Stdout,
    Stderr,
    /// <summary>The launcher's own record of what happened to the process: started, exited, killed, paused.</summary>
    Launcher,
}

/// <summary>One line of a node process's output, with the node and the incarnation (1 for the first start) it came from.</summary>
public sealed record NodeOutputLine(int NodeId, int Incarnation, NodeOutputSource Source, string Text)
{
    public override string ToString() =>
        Source == NodeOutputSource.Stderr ? $"[node {NodeId}#{Incarnation} err] {Text}" : $"[node {NodeId}#{Incarnation}] {Text}";

    /// <summary>A sink that prints <c>[node N] line</c>: the node's stdout to <paramref name="stdout"/>, its stderr and
    /// the launcher's lines to <paramref name="stderr"/>.</summary>
    public static Action<NodeOutputLine> ToWriters(TextWriter stdout, TextWriter stderr) => line =>
        (line.Source == NodeOutputSource.Stdout ? stdout : stderr).WriteLine($"[node {line.NodeId}] {line.Text}");
}
