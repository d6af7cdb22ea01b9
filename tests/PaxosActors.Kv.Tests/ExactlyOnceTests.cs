namespace PaxosActors.Kv.Tests;

public sealed class ExactlyOnceTests
{
    private readonly Replica _replica = new();
    private readonly Client _client = new(7);

    [Fact]
    public void A_retried_command_in_a_later_slot_is_applied_once_and_returns_the_first_result()
    {
        var first = _replica.Single(_client.Cas(1, "k", expected: null, replacement: "mine"));
        _replica.Run(new Client(8).Put(1, "k", "theirs"));

        var retry = _replica.Single(_client.Cas(1, "k", expected: null, replacement: "mine"));

        Assert.True(first.Swapped);
        Assert.Equal(first, retry); // a second run would have failed against "theirs"
        Assert.Equal("theirs", _replica.Read("k"));
        Assert.Equal(2, _replica.Machine.AppliedCommands);
        Assert.Equal(1, _replica.Machine.DuplicateCommands);
    }

    [Fact]
    public void A_retry_in_the_same_slot_is_also_applied_once()
    {
        var results = _replica.Run(_client.Put(1, "k", "a"), _client.Put(1, "k", "a"));

        Assert.Equal(2, results.Count);
        Assert.Equal(results[0], results[1]);
        Assert.Equal(1, _replica.Machine.AppliedCommands);
    }

    [Fact]
    public void A_retried_get_returns_the_value_read_the_first_time()
    {
        _replica.Run(_client.Put(1, "k", "before"));
        var read = _replica.Single(_client.Get(2, "k"));
        _replica.Run(_client.Put(3, "k", "after"));

        var retry = _replica.Single(_client.Get(2, "k"));

        Assert.Equal("before", Client.Text(read.Value));
        Assert.Equal(read, retry);
    }

    [Fact]
    public void Concurrent_seqs_arriving_out_of_order_are_each_applied_once()
    {
        // A client with three requests in flight: the log holds them out of order, and with retries mixed in.
        _replica.Run(_client.Put(3, "c", "3"));
        _replica.Run(_client.Put(1, "a", "1"), _client.Put(3, "c", "3"));
        _replica.Run(_client.Put(2, "b", "2"), _client.Put(1, "a", "1"));
        _replica.Run(_client.Put(2, "b", "2"));

        Assert.Equal(3, _replica.Machine.AppliedCommands);
        Assert.Equal(3, _replica.Machine.DuplicateCommands);
        Assert.Equal(("1", "2", "3"), (_replica.Read("a"), _replica.Read("b"), _replica.Read("c")));
        Assert.Equal([3L, 1, 3, 2, 1, 2], _replica.Reported.Select(r => r.Id.Seq));
    }

    [Fact]
    public void Clients_do_not_share_seq_numbers()
    {
        _replica.Run(new Client(1).Put(1, "a", "x"), new Client(2).Put(1, "b", "y"));

        Assert.Equal(2, _replica.Machine.AppliedCommands);
        Assert.Equal(0, _replica.Machine.DuplicateCommands);
    }

    [Fact]
    public void Acked_below_forgets_results_and_drops_stale_retries_unapplied_and_unreported()
    {
        _replica.Run(_client.Put(1, "k", "one"), _client.Put(2, "k", "two"));
        _client.AckedBelow = 2;
        _replica.Run(_client.Put(3, "k", "three"));

        // A late copy of seq 1, as first sent (before the client acknowledged anything).
        var stale = _replica.Run(new KvCommand.Put(new CommandId(7, 1), 0, "k", Client.Bytes("one")));

        Assert.Empty(stale);
        Assert.Equal(1, _replica.Machine.StaleCommands);
        Assert.Equal("three", _replica.Read("k"));
        Assert.Equal(3, _replica.Machine.AppliedCommands);
    }

    [Fact]
    public void A_seq_at_or_above_acked_below_is_still_deduplicated()
    {
        _replica.Run(_client.Put(1, "k", "one"), _client.Put(2, "k", "two"));
        _client.AckedBelow = 2;
        _replica.Run(_client.Put(3, "k", "three"));

        var retry = _replica.Single(_client.Put(2, "k", "two"));

        Assert.Equal(KvResult.Ok(existed: true), retry);
        Assert.Equal("three", _replica.Read("k"));
        Assert.Equal(1, _replica.Machine.DuplicateCommands);
    }

    [Fact]
    public void Acked_below_never_moves_back()
    {
        _client.AckedBelow = 5;
        _replica.Run(_client.Put(5, "k", "five"));
        // A delayed command sent before the client acknowledged 5: its lower AckedBelow must not revive seq 4.
        _replica.Run(new KvCommand.Put(new CommandId(7, 4), 0, "k", Client.Bytes("four")));

        Assert.Equal(1, _replica.Machine.StaleCommands);
        Assert.Equal("five", _replica.Read("k"));
    }

    [Fact]
    public void Acked_results_are_pruned_from_the_snapshot()
    {
        _replica.Run(_client.Put(1, "k", new string('x', 1000)), _client.Get(2, "k"));
        long withResults = _replica.Machine.Snapshot().Length;
        _client.AckedBelow = 3;

        _replica.Run(_client.Delete(3, "k"));

        Assert.True(_replica.Machine.Snapshot().Length < withResults - 1000, "the Get's stored 1000-byte value should be forgotten");
    }

    [Fact]
    public void A_session_silent_for_the_expiry_window_is_removed_and_a_late_retry_then_runs_again()
    {
        var replica = new Replica(sessionExpirySlots: 10);
        replica.Run(_client.Put(1, "k", "v"));              // slot 0: seen at 0
        replica.NoOps(9);                                    // slots 1..9
        Assert.Equal(1, replica.Machine.SessionCount);

        replica.NoOps(1);                                    // slot 10: 10 slots since slot 0

        Assert.Equal(0, replica.Machine.SessionCount);
        replica.Run(_client.Put(1, "k", "v"));
        Assert.Equal(2, replica.Machine.AppliedCommands);
    }

    [Fact]
    public void A_command_keeps_its_session_alive()
    {
        var replica = new Replica(sessionExpirySlots: 10);
        var other = new Client(99);
        replica.Run(_client.Put(1, "k", "v"), other.Put(1, "o", "v")); // slot 0
        replica.NoOps(5);                                               // slots 1..5
        replica.Run(_client.Get(2, "k"));                               // slot 6
        replica.NoOps(4);                                               // slots 7..10: other expires at 10

        Assert.Equal(1, replica.Machine.SessionCount);
        Assert.Equal(KvResult.Ok(existed: false), replica.Single(_client.Put(1, "k", "v"))); // still deduplicated
    }

    [Fact]
    public void Session_expiry_depends_only_on_slots_so_replicas_agree()
    {
        var a = new Replica(sessionExpirySlots: 3);
        var b = new Replica(sessionExpirySlots: 3);
        var random = new Random(7);
        for (int slot = 0; slot < 300; slot++)
        {
            var commands = Enumerable.Range(0, random.Next(0, 3))
                .Select(_ => (KvCommand)new Client((ulong)random.Next(20)).Put(random.Next(5), $"k{random.Next(10)}", $"v{slot}"))
                .ToArray();
            a.Run(commands);
            b.Run(commands);
            Assert.Equal(a.Machine.SessionCount, b.Machine.SessionCount);
        }

        Assert.Equal(a.Machine.Digest(), b.Machine.Digest());
        Assert.True(a.Machine.AppliedCommands > a.Machine.DuplicateCommands);
    }
}
