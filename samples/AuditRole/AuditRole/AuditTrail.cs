using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using PaxosActors.Replication;

namespace Samples.Audit;

/// <summary>
/// Follows this node's applied stream: keeps the last few commands for <c>GET /roles/audit</c> and counts what the stream
/// delivered in this incarnation, live or replayed from the learner's journal. It shows the stream; the counts that must
/// survive restarts are replicated state (<see cref="AuditCounts"/>), not this actor's memory.
/// </summary>
public sealed class AuditTrail : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly AuditView _view;
    private readonly int _keep;
    private AuditView.Trail _trail;

    public AuditTrail(AuditView view, int keep)
    {
        _view = view;
        _keep = keep;
        _trail = view.Seen;
        Receive<SlotApplied>(OnSlot);
        Receive<StateInstalled>(installed =>
        {
            _trail = _trail with { Installed = _trail.Installed + 1 };
            _view.Record(_trail);
            _log.Info("audit: the learner installed a whole state ({0}) holding every slot below {1}; the commands in it are " +
                      "counted in the replicated counts, not listed here", installed.Source, installed.NextSlot);
        });
    }

    public static Props Props(AuditView view, int keep) => Akka.Actor.Props.Create(() => new AuditTrail(view, keep));

    protected override void PreStart() => _log.Info("audit: following the applied stream, keeping the last {0} commands", _keep);

    private void OnSlot(SlotApplied slot)
    {
        if (slot.Commands.Count == 0) return;
        var recent = _trail.Recent;
        int count = _trail.RecentCount;
        foreach (var c in slot.Commands)
        {
            recent = recent.Enqueue(new AuditEntry(slot.Slot, c.StateMachine, c.Payload.Length, slot.Replayed, c.Id?.ToString()));
            if (++count > _keep)
            {
                recent = recent.Dequeue();
                count--;
            }
            if (!slot.Replayed) _log.Debug("audit: slot {0}: {1} command of {2} bytes", slot.Slot, c.StateMachine, c.Payload.Length);
        }
        _trail = slot.Replayed
            ? _trail with { Replayed = _trail.Replayed + slot.Commands.Count, Recent = recent, RecentCount = count }
            : _trail with { Live = _trail.Live + slot.Commands.Count, Recent = recent, RecentCount = count };
        _view.Record(_trail);
    }
}
