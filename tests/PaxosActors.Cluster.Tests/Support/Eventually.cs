using System.Diagnostics;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PaxosActors.Cluster.Tests.Support;

/// <summary>Bounded polling, like TestKit's AwaitAssert: retries an assertion until it holds or the time is up.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>Runs <paramref name="assertion"/> until it does not throw; after <paramref name="timeout"/>,
    /// rethrows its last failure with how long it was tried.</summary>
    public static async Task Holds(Func<Task> assertion, TimeSpan timeout, TimeSpan? interval = null)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await assertion();
                return;
            }
            catch (Exception) when (watch.Elapsed < timeout)
            {
                // not yet: try again after the interval
            }
            catch (Exception e)
            {
                throw new TimeoutException($"still failing after {watch.Elapsed.TotalSeconds:0.0} s: {e.Message}", e);
            }
            await Task.Delay(interval ?? DefaultInterval);
        }
    }

    /// <summary>Retries <paramref name="attempt"/> until it returns a value without throwing; bounded like <see cref="Holds"/>.</summary>
    public static async Task<T> Returns<T>(Func<Task<T>> attempt, TimeSpan timeout, TimeSpan? interval = null)
    {
        T result = default!;
        await Holds(async () => result = await attempt(), timeout, interval);
        return result;
    }
}
