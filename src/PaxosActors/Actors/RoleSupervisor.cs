using Akka.Actor;
using Akka.Pattern;
using PaxosActors.Configuration;

namespace PaxosActors.Actors;

/// <summary>
/// Runs a role's actor under Akka's <see cref="BackoffSupervisor"/>. A persistent actor stops when
/// its journal fails, and a failing actor is stopped too; either way it comes back after a delay that
/// doubles (with jitter) up to a cap, instead of a restart storm against a broken disk. Messages to the
/// supervisor are forwarded to the current child, so the supervisor's ref is the role's stable address.
/// </summary>
public static class RoleSupervisor
{
    public static Props Props(Props child, string childName, PaxosSettings settings) =>
        Props(child, childName, settings.SupervisionMinBackoff, settings.SupervisionMaxBackoff, settings.SupervisionRandomFactor);

    public static Props Props(Props child, string childName, TimeSpan minBackoff, TimeSpan maxBackoff, double randomFactor) =>
        BackoffSupervisor.Props(
            Backoff.OnStop(child, childName, minBackoff, maxBackoff, randomFactor, maxNrOfRetries: -1)
                .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Stop))
                .WithAutoReset(maxBackoff + maxBackoff));
}
