namespace PaxosActors.Checker;

/// <summary>What an operation does to one key's register.</summary>
public enum OpKind
{
    /// <summary>Returns the current value (<see cref="Operation.Value"/>, null = absent).</summary>
    Read,
    /// <summary>Sets the value to <see cref="Operation.Value"/>.</summary>
    Write,
    /// <summary>Sets the value to <see cref="Operation.Value"/> if it is <see cref="Operation.Expected"/> (null = absent).</summary>
    Cas,
    /// <summary>Makes the key absent.</summary>
    Delete,
}

/// <summary>How an operation ended, in Jepsen's terms.</summary>
public enum OpStatus
{
    /// <summary>Completed; its result is known.</summary>
    Ok,
    /// <summary>Certainly did not take effect; the checker ignores it.</summary>
    Fail,
    /// <summary>Unknown: may have taken effect at any time after its invocation, or never.</summary>
    Info,
}

/// <summary>One invocation and its completion, as recorded by a client.</summary>
/// <param name="Id">Position of the invocation in the history (0-based); identifies the operation in reports.</param>
/// <param name="Process">The client process that issued it.</param>
/// <param name="Kind">Read, write, cas or delete.</param>
/// <param name="Key">The key; keys are checked independently.</param>
/// <param name="Value">Read: the value returned (null = absent). Write and cas: the value written. Delete: unused.</param>
/// <param name="Expected">Cas only: the value it swaps from (null = the key must be absent).</param>
/// <param name="Outcome">Cas: whether it swapped. Delete: whether the key existed (null = not recorded, not checked).
/// Unused for reads and writes; null for fail and info operations.</param>
/// <param name="Status">ok, fail or info.</param>
/// <param name="InvokeNs">When it was invoked.</param>
/// <param name="ReturnNs">When it completed; <see cref="long.MaxValue"/> for info operations, which never complete.</param>
public sealed record Operation(
    int Id,
    int Process,
    OpKind Kind,
    string Key,
    string? Value,
    string? Expected,
    bool? Outcome,
    OpStatus Status,
    long InvokeNs,
    long ReturnNs)
{
    /// <summary>The return time of an operation that never completed.</summary>
    public const long Never = long.MaxValue;

    public static Operation Read(int id, int process, string key, string? valueRead, long invokeNs, long returnNs, OpStatus status = OpStatus.Ok) =>
        new(id, process, OpKind.Read, key, status == OpStatus.Ok ? valueRead : null, null, null, status, invokeNs, EndOf(status, returnNs));

    public static Operation Write(int id, int process, string key, string value, long invokeNs, long returnNs, OpStatus status = OpStatus.Ok) =>
        new(id, process, OpKind.Write, key, value, null, null, status, invokeNs, EndOf(status, returnNs));

    public static Operation Cas(int id, int process, string key, string? expected, string value, bool? swapped, long invokeNs, long returnNs, OpStatus status = OpStatus.Ok) =>
        new(id, process, OpKind.Cas, key, value, expected, status == OpStatus.Ok ? swapped : null, status, invokeNs, EndOf(status, returnNs));

    public static Operation Delete(int id, int process, string key, bool? existed, long invokeNs, long returnNs, OpStatus status = OpStatus.Ok) =>
        new(id, process, OpKind.Delete, key, null, null, status == OpStatus.Ok ? existed : null, status, invokeNs, EndOf(status, returnNs));

    // An info operation has no end: pinning that here keeps every constructor path consistent.
    static long EndOf(OpStatus status, long returnNs) => status == OpStatus.Info ? Never : returnNs;

    /// <summary>A short, single-line rendering for violation reports, e.g. <c>#12 p3 write "w3-17…" ok [1.200 ms, 1.350 ms]</c>.</summary>
    public override string ToString()
    {
        string what = Kind switch
        {
            OpKind.Read => Status == OpStatus.Ok ? $"read -> {Show(Value)}" : "read",
            OpKind.Write => $"write {Show(Value)}",
            OpKind.Cas => $"cas {Show(Expected)} -> {Show(Value)}" + (Outcome is { } s ? (s ? " swapped" : " not swapped") : ""),
            _ => "delete" + (Outcome is { } e ? (e ? " (existed)" : " (was absent)") : ""),
        };
        string end = ReturnNs == Never ? "never returned" : Ms(ReturnNs);
        return $"#{Id} p{Process} {what} {Status.ToString().ToLowerInvariant()} [{Ms(InvokeNs)}, {end}]";
    }

    internal static string Show(string? value) =>
        value is null ? "absent" : value.Length <= 20 ? $"\"{value}\"" : $"\"{value[..20]}…\"";

    static string Ms(long ns) => (ns / 1e6).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) + " ms";
}
