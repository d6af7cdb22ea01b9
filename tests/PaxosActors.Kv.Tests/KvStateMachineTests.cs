using PaxosActors.Core.Protocol;

namespace PaxosActors.Kv.Tests;

public sealed class KvStateMachineTests
{
    private readonly Replica _replica = new();
    private readonly Client _client = new(1);

    [Fact]
    public void A_new_state_machine_has_applied_nothing()
    {
        var machine = new KvStateMachine();

        Assert.Equal(-1, machine.AppliedSlot);
        Assert.Equal(0, machine.Count);
        Assert.Equal(0, machine.Bytes);
        Assert.False(machine.TryGet("k", out _));
    }

    [Fact]
    public void Put_stores_the_value_and_reports_ok()
    {
        var result = _replica.Single(_client.Put(1, "k", "v1"));

        Assert.True(result.IsOk);
        Assert.False(result.Existed);
        Assert.Equal("v1", _replica.Read("k"));
        Assert.Equal(1, _replica.Machine.Count);
    }

    [Fact]
    public void Put_over_an_existing_key_replaces_it_and_says_it_existed()
    {
        _replica.Run(_client.Put(1, "k", "v1"));

        var result = _replica.Single(_client.Put(2, "k", "v2"));

        Assert.Equal(KvResult.Ok(existed: true), result);
        Assert.Equal("v2", _replica.Read("k"));
    }

    [Fact]
    public void Get_reads_the_value_or_reports_absent()
    {
        _replica.Run(_client.Put(1, "k", "v"));

        var present = _replica.Single(_client.Get(2, "k"));
        var absent = _replica.Single(_client.Get(3, "other"));

        Assert.True(present.IsOk);
        Assert.Equal("v", Client.Text(present.Value));
        Assert.True(absent.IsOk);
        Assert.False(absent.Existed);
        Assert.Null(absent.Value);
    }

    [Fact]
    public void Delete_removes_the_key_and_says_whether_it_existed()
    {
        _replica.Run(_client.Put(1, "k", "v"));

        var first = _replica.Single(_client.Delete(2, "k"));
        var second = _replica.Single(_client.Delete(3, "k"));

        Assert.Equal(KvResult.Ok(existed: true), first);
        Assert.Equal(KvResult.Ok(existed: false), second);
        Assert.Null(_replica.Read("k"));
        Assert.Equal(0, _replica.Machine.Count);
        Assert.Equal(0, _replica.Machine.Bytes);
    }

    [Fact]
    public void Compare_and_set_with_expected_null_creates_an_absent_key()
    {
        var result = _replica.Single(_client.Cas(1, "k", expected: null, replacement: "v"));

        Assert.True(result.Swapped);
        Assert.Equal("v", _replica.Read("k"));
    }

    [Fact]
    public void Compare_and_set_with_expected_null_fails_on_a_present_key_and_returns_its_value()
    {
        _replica.Run(_client.Put(1, "k", "current"));

        var result = _replica.Single(_client.Cas(2, "k", expected: null, replacement: "v"));

        Assert.False(result.Swapped);
        Assert.Equal("current", Client.Text(result.Value));
        Assert.Equal("current", _replica.Read("k"));
    }

    [Fact]
    public void Compare_and_set_swaps_when_the_expected_value_matches()
    {
        _replica.Run(_client.Put(1, "k", "old"));

        var result = _replica.Single(_client.Cas(2, "k", "old", "new"));

        Assert.Equal(KvResult.Ok(existed: true), result);
        Assert.Equal("new", _replica.Read("k"));
    }

    [Fact]
    public void Compare_and_set_mismatch_returns_the_current_value_and_changes_nothing()
    {
        _replica.Run(_client.Put(1, "k", "actual"));

        var result = _replica.Single(_client.Cas(2, "k", "expected", "new"));

        Assert.Equal(KvResult.Failed(Client.Bytes("actual")), result);
        Assert.Equal("actual", _replica.Read("k"));
    }

    [Fact]
    public void Compare_and_set_on_an_absent_key_with_an_expected_value_fails_as_absent()
    {
        var result = _replica.Single(_client.Cas(1, "k", "expected", "new"));

        Assert.False(result.Swapped);
        Assert.False(result.Existed);
        Assert.Null(result.Value);
        Assert.Null(_replica.Read("k"));
    }

    [Fact]
    public void Compare_and_set_to_null_deletes_the_key()
    {
        _replica.Run(_client.Put(1, "k", "v"));

        var result = _replica.Single(_client.Cas(2, "k", "v", replacement: null));

        Assert.True(result.Swapped);
        Assert.Null(_replica.Read("k"));
        Assert.Equal(0, _replica.Machine.Count);
    }

    [Fact]
    public void An_empty_value_is_present_not_absent()
    {
        _replica.Run(_client.Put(1, "k", ""));

        Assert.True(_replica.Single(_client.Cas(2, "k", "", "x")).Swapped);
        Assert.Equal("x", _replica.Read("k"));
    }

    [Fact]
    public void Commands_of_one_slot_apply_in_order()
    {
        var results = _replica.Run(_client.Put(1, "k", "a"), _client.Cas(2, "k", "a", "b"), _client.Get(3, "k"));

        Assert.Equal([1L, 2L, 3L], results.Select(r => r.Id.Seq));
        Assert.Equal("b", Client.Text(results[2].Result.Value));
        Assert.Equal(0, _replica.Machine.AppliedSlot);
    }

    [Fact]
    public void Bytes_tracks_keys_and_values_through_puts_and_deletes()
    {
        _replica.Run(_client.Put(1, "ab", "123"), _client.Put(2, "c", "4"));
        Assert.Equal(2 + 3 + 1 + 1, _replica.Machine.Bytes);

        _replica.Run(_client.Put(3, "ab", "1"), _client.Delete(4, "c"));
        Assert.Equal(2 + 1, _replica.Machine.Bytes);
    }

    [Fact]
    public void An_undecodable_command_is_a_counted_no_op_and_its_neighbours_still_apply()
    {
        var results = _replica.RunRaw(KvCodec.Encode(_client.Put(1, "a", "1")), [0xFF, 0x00, 0x13], KvCodec.Encode(_client.Put(2, "b", "2")));

        Assert.Equal(2, results.Count);
        Assert.Equal(1, _replica.Machine.UndecodableCommands);
        Assert.Equal(2, _replica.Machine.AppliedCommands);
        Assert.Equal("1", _replica.Read("a"));
        Assert.Equal("2", _replica.Read("b"));
        Assert.Equal(0, _replica.Machine.AppliedSlot);
    }

    [Fact]
    public void A_no_op_slot_advances_the_applied_slot_and_nothing_else()
    {
        _replica.NoOps(3);

        Assert.Equal(2, _replica.Machine.AppliedSlot);
        Assert.Equal(0, _replica.Machine.AppliedCommands);
        Assert.Empty(_replica.Reported);
    }

    [Fact]
    public void A_slot_already_applied_is_ignored()
    {
        _replica.Run(_client.Put(1, "k", "v1"));

        _replica.Machine.Apply(0, SlotValue.Of(KvCodec.Encode(_client.Put(2, "k", "v2"))));

        Assert.Equal("v1", _replica.Read("k"));
        Assert.Equal(1, _replica.Machine.AppliedCommands);
    }

    [Fact]
    public void A_gap_in_the_slots_is_refused()
    {
        var machine = new KvStateMachine();

        Assert.Throws<InvalidOperationException>(() => machine.Apply(1, SlotValue.NoOp));
        Assert.Equal(-1, machine.AppliedSlot);
    }

    [Fact]
    public void The_callback_runs_after_the_whole_slot_is_applied()
    {
        KvStateMachine? machine = null;
        var seen = new List<(long AppliedSlot, string? Value)>();
        machine = new KvStateMachine(onApplied: (_, _) =>
            seen.Add((machine!.AppliedSlot, machine.TryGet("k", out var v) ? Client.Text(v) : null)));

        machine.Apply(0, SlotValue.Of(KvCodec.Encode(_client.Put(1, "k", "a")), KvCodec.Encode(_client.Put(2, "k", "b"))));

        Assert.Equal([(0L, "b"), (0L, "b")], seen);
    }

    [Fact]
    public void A_stored_value_cannot_be_changed_through_the_buffer_it_came_from()
    {
        var machine = new KvStateMachine();
        var encoded = KvCodec.Encode(_client.Put(1, "k", "v"));

        machine.Apply(0, SlotValue.Of(encoded));
        Array.Clear(encoded);

        Assert.True(machine.TryGet("k", out var value));
        Assert.Equal("v", Client.Text(value));
    }
}
