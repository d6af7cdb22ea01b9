using System.Runtime.CompilerServices;

namespace PaxosActors.TestSupport;

/// <summary>
/// The test assemblies that start clusters of node processes take turns on this machine: <c>dotnet test</c> on the
/// solution runs test assemblies side by side, and two of them each running three to five node processes on a 2-core
/// machine starve each other's heartbeats and timeouts (a restarted node not welcomed back within 30 s, a node not
/// answering /status within 2 s), which is load, not what the tests are about. Each such assembly includes this file:
/// the first of its code to run takes a machine-wide named mutex and holds it until its test process exits (the
/// runtime frees a mutex whose owner is gone: <see cref="AbandonedMutexException"/> means it is ours). Assemblies that
/// only compute (the simulation, the checker) keep running beside them.
/// </summary>
internal static class OneClusterSuiteAtATime
{
    private const string Name = "Global\\paxos-actors-process-cluster-tests";
    private static Mutex? _held;

    [ModuleInitializer]
    internal static void Acquire()
    {
        var mutex = new Mutex(initiallyOwned: false, Name);
        try
        {
            mutex.WaitOne();
        }
        catch (AbandonedMutexException)
        {
            // the assembly before us exited holding it: it is ours now
        }
        _held = mutex;
    }
}
