using PaxosActors.Checker;

namespace PaxosActors.Checker.Tests.Support;

/// <summary>Generates linearizable histories by simulating clients of a sequential register per key.</summary>
/// <remarks>
/// Each client issues operations back to back with random latencies; every operation that takes effect
/// does so at a random instant inside its interval (its linearization point), and results are computed by
/// applying the operations to a plain dictionary in linearization-point order. The history is therefore
/// linearizable by construction. Info operations take effect with probability 1/2, at a point that may lie
/// after the client gave up; their client is retired and a fresh process id takes over, as in Jepsen.
/// </remarks>
public static class Simulation
{
    public sealed record Options(int Operations, int Keys, int Clients, bool CasAndDelete, double InfoRate = 0.02, double FailRate = 0.02, int Seed = 1);

    public static List<Operation> Generate(Options o)
    {
        var rng = new Random(o.Seed);
        var clock = new long[o.Clients];
        var process = Enumerable.Range(0, o.Clients).ToArray();
        var drafts = new List<Draft>(o.Operations);

        for (int i = 0; i < o.Operations; i++)
        {
            // The client that is free earliest goes next, so invocations come out in time order.
            int c = 0;
            for (int j = 1; j < o.Clients; j++) if (clock[j] < clock[c]) c = j;
            long invoke = clock[c] + rng.Next(0, 20_000);
            long latency = 10_000 + rng.Next(0, 400_000);
            long ret = invoke + latency;
            clock[c] = ret;

            double roll = rng.NextDouble();
            OpStatus status = roll < o.InfoRate ? OpStatus.Info : roll < o.InfoRate + o.FailRate ? OpStatus.Fail : OpStatus.Ok;
            double k = rng.NextDouble();
            OpKind kind = k < 0.45 ? OpKind.Read
                : k < 0.80 ? OpKind.Write
                : !o.CasAndDelete ? (k < 0.90 ? OpKind.Write : OpKind.Read)
                : k < 0.95 ? OpKind.Cas
                : OpKind.Delete;
            bool takesEffect = status switch
            {
                OpStatus.Ok => true,
                OpStatus.Fail => false,
                _ => rng.Next(2) == 0,
            };
            // An info op may land after its client stopped waiting, but never before its invocation.
            long point = invoke + (long)(rng.NextDouble() * latency * (status == OpStatus.Info ? 3 : 1));
            drafts.Add(new Draft(i, process[c], kind, $"k{rng.Next(o.Keys):D4}", status, invoke, ret, takesEffect, point, rng.Next()));
            if (status == OpStatus.Info) process[c] += o.Clients;
        }

        var register = new Dictionary<string, string>();
        var written = new Dictionary<string, List<string>>();
        var ops = new Operation?[drafts.Count];
        foreach (var d in drafts.Where(d => d.TakesEffect).OrderBy(d => d.Point))
        {
            register.TryGetValue(d.Key, out string? current);
            string fresh = $"v{d.Id}";
            ops[d.Id] = d.Kind switch
            {
                OpKind.Read => Operation.Read(d.Id, d.Process, d.Key, current, d.Invoke, d.Return, d.Status),
                OpKind.Write => Operation.Write(d.Id, d.Process, d.Key, fresh, d.Invoke, d.Return, d.Status),
                OpKind.Cas => CasAt(d, current, fresh, Candidates(written, d.Key)),
                _ => Operation.Delete(d.Id, d.Process, d.Key, current is not null, d.Invoke, d.Return, d.Status),
            };
            var op = ops[d.Id]!;
            if (op.Kind == OpKind.Write || (op.Kind == OpKind.Cas && op.Expected == current))
            {
                register[d.Key] = fresh;
                Candidates(written, d.Key).Add(fresh);
            }
            else if (op.Kind == OpKind.Delete) register.Remove(d.Key);
        }
        // Operations that never took effect: their arguments are arbitrary, their results unknown.
        foreach (var d in drafts.Where(d => !d.TakesEffect))
        {
            ops[d.Id] = d.Kind switch
            {
                OpKind.Read => Operation.Read(d.Id, d.Process, d.Key, null, d.Invoke, d.Return, d.Status),
                OpKind.Write => Operation.Write(d.Id, d.Process, d.Key, $"v{d.Id}", d.Invoke, d.Return, d.Status),
                OpKind.Cas => Operation.Cas(d.Id, d.Process, d.Key, $"never-{d.Id}", $"v{d.Id}", null, d.Invoke, d.Return, d.Status),
                _ => Operation.Delete(d.Id, d.Process, d.Key, null, d.Invoke, d.Return, d.Status),
            };
        }
        return ops.Select(op => op!).ToList();
    }

    static Operation CasAt(Draft d, string? current, string fresh, List<string> earlier)
    {
        // Mostly expect the current value (a swap); otherwise an older value or absent (no swap, unless it
        // happens to be current).
        var r = new Random(d.Salt);
        string? expected = r.Next(3) switch
        {
            0 when earlier.Count > 0 => earlier[r.Next(earlier.Count)],
            1 => null,
            _ => current,
        };
        bool swapped = expected == current;
        // An info cas's outcome is unknown; it still swapped in the simulated store if it matched.
        return Operation.Cas(d.Id, d.Process, d.Key, expected, fresh, swapped, d.Invoke, d.Return, d.Status);
    }

    static List<string> Candidates(Dictionary<string, List<string>> written, string key) =>
        written.TryGetValue(key, out var list) ? list : written[key] = [];

    sealed record Draft(int Id, int Process, OpKind Kind, string Key, OpStatus Status, long Invoke, long Return, bool TakesEffect, long Point, int Salt);
}
