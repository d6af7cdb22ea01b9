using PaxosActors.Replication;
using Samples.Locks;

namespace LockRole.Tests;

/// <summary>The lock table alone: what each command does to it, as every replica applies it.</summary>
public sealed class LockTableSpec
{
    private readonly LockView _view = new();
    private readonly LockTable _table;
    private long _slot;

    public LockTableSpec() => _table = new LockTable(_view);

    private LockResult Run(LockCommand command) =>
        LockJson.Decode<LockResult>(_table.Apply(new ReplicatedCommand(_slot++, 0, LockJson.Encode(command), null)).Bytes.Span);

    private LockResult Acquire(string owner, long atMs, long ttlMs = 1000, string name = "x") =>
        Run(new LockCommand(LockCommand.Acquire, name, owner, null, ttlMs, atMs));

    private LockResult Release(string owner, long? token, long atMs, string name = "x") =>
        Run(new LockCommand(LockCommand.Release, name, owner, token, null, atMs));

    private LockResult Read(long atMs, string name = "x") => Run(new LockCommand(LockCommand.Read, name, null, null, null, atMs));

    [Fact]
    public void A_free_lock_goes_to_the_first_owner_and_a_second_owner_is_told_who_holds_it()
    {
        var first = Acquire("alice", atMs: 100);
        var second = Acquire("bob", atMs: 200);

        Assert.Equal(new LockResult(true, "x", "alice", 1, 1100), first);
        Assert.Equal(new LockResult(false, "x", "alice", 1, 1100), second);
        Assert.Equal(new LockView.Summary(1, 1), _view.Current);
    }

    [Fact]
    public void The_fencing_token_grows_with_every_acquisition_and_is_never_given_twice()
    {
        long a = Acquire("alice", 100).Token!.Value;
        Release("alice", a, 200);
        long b = Acquire("bob", 300).Token!.Value;
        long c = Acquire("carol", 300 + 1000).Token!.Value; // bob's lease has expired by the log's clock
        long other = Acquire("dave", 2000, name: "y").Token!.Value;

        Assert.Equal([1L, 2, 3, 4], [a, b, c, other]);
    }

    [Fact]
    public void Only_the_holder_with_its_token_releases_a_lock()
    {
        long token = Acquire("alice", 100).Token!.Value;

        Assert.False(Release("bob", token, 200).Ok);
        Assert.False(Release("alice", token + 1, 200).Ok);
        Assert.True(Read(250).Held);
        Assert.Equal(new LockResult(true, "x", null, null, null), Release("alice", token, 300));
        Assert.False(Read(400).Held);
    }

    [Fact]
    public void The_holder_renews_its_lease_by_acquiring_again_and_keeps_its_token()
    {
        var first = Acquire("alice", 100, ttlMs: 1000);
        var renewed = Acquire("alice", 900, ttlMs: 1000);

        Assert.Equal(first.Token, renewed.Token);
        Assert.Equal(1900, renewed.ExpiresAtMs);
        Assert.False(Acquire("bob", 1500).Ok);
    }

    [Fact]
    public void A_lease_expires_by_the_time_commands_carry_never_by_the_applying_nodes_clock()
    {
        Acquire("alice", atMs: 1_000, ttlMs: 500);
        // A command stamped earlier (by a node whose clock is behind) cannot move the log's clock back.
        Assert.True(Read(atMs: 10).Held);
        Assert.True(Read(atMs: 1_499).Held);
        Assert.False(Read(atMs: 1_500).Held);
        Assert.Equal(2, Acquire("bob", atMs: 1_200).Token); // the clock stays at 1500: alice's lease is gone
    }

    [Fact]
    public void A_malformed_command_is_refused_with_a_reason_and_changes_nothing()
    {
        Acquire("alice", 100);
        byte[] before = _table.TakeSnapshot();

        var garbage = LockJson.Decode<LockResult>(_table.Apply(new ReplicatedCommand(_slot++, 0, "{not json"u8.ToArray(), null)).Bytes.Span);
        var noOwner = Run(new LockCommand(LockCommand.Acquire, "x", null, null, 1000, 200));

        Assert.False(garbage.Ok);
        Assert.Contains("malformed lock command", garbage.Error);
        Assert.False(noOwner.Ok);
        Assert.NotNull(noOwner.Error);
        Assert.Equal(before, _table.TakeSnapshot());
    }

    [Fact]
    public void A_restored_table_holds_the_same_leases_tokens_and_clock_and_gives_the_same_snapshot()
    {
        Acquire("alice", 100);
        Acquire("bob", 150, name: "y");
        Release("bob", 2, 160, name: "y");
        byte[] snapshot = _table.TakeSnapshot();

        var view = new LockView();
        var restored = new LockTable(view);
        restored.RestoreSnapshot(snapshot);

        Assert.Equal(snapshot, restored.TakeSnapshot());
        Assert.Equal(new LockView.Summary(1, 2), view.Current);
        var next = LockJson.Decode<LockResult>(restored.Apply(new ReplicatedCommand(9, 0,
            LockJson.Encode(new LockCommand(LockCommand.Acquire, "y", "carol", null, 1000, 170)), null)).Bytes.Span);
        Assert.Equal(3, next.Token);
    }
}
