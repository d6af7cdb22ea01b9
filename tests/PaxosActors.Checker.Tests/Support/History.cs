using PaxosActors.Checker;

namespace PaxosActors.Checker.Tests.Support;

/// <summary>Builds small hand-written histories; times are plain numbers (read them as ms) and ids follow call order.</summary>
public sealed class History
{
    readonly List<Operation> _ops = [];

    public IReadOnlyList<Operation> Operations => _ops;

    public History Write(int process, string value, long invoke, long ret, OpStatus status = OpStatus.Ok, string key = "k") =>
        Add(Operation.Write(_ops.Count, process, key, value, invoke, ret, status));

    public History Read(int process, string? value, long invoke, long ret, OpStatus status = OpStatus.Ok, string key = "k") =>
        Add(Operation.Read(_ops.Count, process, key, value, invoke, ret, status));

    public History Cas(int process, string? expected, string value, bool swapped, long invoke, long ret, OpStatus status = OpStatus.Ok, string key = "k") =>
        Add(Operation.Cas(_ops.Count, process, key, expected, value, swapped, invoke, ret, status));

    public History Delete(int process, long invoke, long ret, bool? existed = null, OpStatus status = OpStatus.Ok, string key = "k") =>
        Add(Operation.Delete(_ops.Count, process, key, existed, invoke, ret, status));

    public CheckResult Check() => LinearizabilityChecker.Check(_ops, TimeSpan.FromSeconds(10));

    History Add(Operation op)
    {
        _ops.Add(op);
        return this;
    }
}
