namespace PaxosActors.Checker.Tests;

public sealed class HistoryReaderSpec : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "paxos-checker-tests", Guid.NewGuid().ToString("N"));

    public HistoryReaderSpec() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string WriteFile(string text)
    {
        string path = Path.Combine(_dir, "history.jsonl");
        File.WriteAllText(path, text);
        return path;
    }

    // Lines exactly as the loadgen's HistoryWriter formats them (utf8 JSON writer, same field order).
    const string LoadgenHistory = """
        {"process":0,"type":"invoke","f":"write","key":"k000001","value":"w0-1-xxxx","time_ns":100}
        {"process":1,"type":"invoke","f":"read","key":"k000001","value":null,"time_ns":150}
        {"process":0,"type":"ok","f":"write","key":"k000001","value":"w0-1-xxxx","time_ns":400}
        {"process":1,"type":"ok","f":"read","key":"k000001","value":null,"time_ns":420}
        {"process":2,"type":"invoke","f":"write","key":"k000002","value":"w2-1-xxxx","time_ns":500}
        {"process":1,"type":"invoke","f":"read","key":"k000001","value":null,"time_ns":510}
        {"process":1,"type":"ok","f":"read","key":"k000001","value":"w0-1-xxxx","time_ns":600}
        {"process":2,"type":"info","f":"write","key":"k000002","value":"w2-1-xxxx","time_ns":5000500,"error":"timeout"}
        {"process":0,"type":"invoke","f":"read","key":"k000002","value":null,"time_ns":5000600}
        {"process":0,"type":"fail","f":"read","key":"k000002","value":null,"time_ns":5000700,"error":"HttpRequestException: refused"}

        {"process":4,"type":"invoke","f":"read","key":"k000002","value":null,"time_ns":5000800}
        {"process":4,"type":"ok","f":"read","key":"k000002","value":"w2-1-xxxx","time_ns":5000900}
        {"process":5,"type":"invoke","f":"write","key":"k000003","value":"w1-2-xxxx","time_ns":6000000}
        """;

    [Fact]
    public void A_history_in_the_loadgen_format_reads_and_checks_as_linearizable()
    {
        var ops = HistoryReader.Read(WriteFile(LoadgenHistory));

        Assert.Equal(7, ops.Count);
        var write = ops[0];
        Assert.Equal((0, OpKind.Write, "k000001", "w0-1-xxxx", OpStatus.Ok, 100L, 400L),
            (write.Process, write.Kind, write.Key, write.Value, write.Status, write.InvokeNs, write.ReturnNs));
        Assert.Null(ops[1].Value);
        Assert.Equal("w0-1-xxxx", ops[3].Value);
        Assert.Equal((OpStatus.Info, Operation.Never), (ops[2].Status, ops[2].ReturnNs));
        Assert.Equal(OpStatus.Fail, ops[4].Status);
        // Still pending when the file ended: unknown outcome.
        Assert.Equal((OpStatus.Info, Operation.Never), (ops[6].Status, ops[6].ReturnNs));

        var result = LinearizabilityChecker.Check(ops, TimeSpan.FromSeconds(10));

        Assert.Equal(Verdict.Linearizable, result.Verdict);
        Assert.Equal((7, 3, 4, 1, 2), (result.Summary.Operations, result.Summary.Keys, result.Summary.Ok, result.Summary.Fail, result.Summary.Info));
    }

    [Fact]
    public void A_loadgen_history_with_a_stale_read_checks_as_not_linearizable_from_a_file()
    {
        string stale = LoadgenHistory + """

            {"process":6,"type":"invoke","f":"read","key":"k000001","value":null,"time_ns":7000000}
            {"process":6,"type":"ok","f":"read","key":"k000001","value":null,"time_ns":7000100}
            """;

        var result = LinearizabilityChecker.CheckFile(WriteFile(stale), TimeSpan.FromSeconds(10));

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.Equal("k000001", result.Violation!.Key);
        Assert.Contains(result.Violation.Witness, o => o.InvokeNs == 7000000);
    }

    [Fact]
    public void Cas_and_delete_lines_read_with_their_expected_value_and_outcome()
    {
        var ops = HistoryReader.Read(new StringReader("""
            {"process":1,"type":"invoke","f":"cas","key":"k1","expected":"a","value":"b","time_ns":5}
            {"process":1,"type":"ok","f":"cas","key":"k1","value":true,"time_ns":9}
            {"process":1,"type":"invoke","f":"cas","key":"k1","expected":null,"value":"c","time_ns":10}
            {"process":1,"type":"ok","f":"cas","key":"k1","value":false,"time_ns":11}
            {"process":2,"type":"invoke","f":"cas","key":"k1","value":"d","time_ns":12}
            {"process":2,"type":"info","f":"cas","key":"k1","value":null,"time_ns":13,"error":"timeout"}
            {"process":1,"type":"invoke","f":"delete","key":"k1","value":null,"time_ns":14}
            {"process":1,"type":"ok","f":"delete","key":"k1","value":true,"time_ns":15}
            {"process":1,"type":"invoke","f":"delete","key":"k1","time_ns":16}
            {"process":1,"type":"ok","f":"delete","key":"k1","time_ns":17}
            """));

        Assert.Equal(5, ops.Count);
        Assert.Equal((OpKind.Cas, "a", "b", (bool?)true), (ops[0].Kind, ops[0].Expected, ops[0].Value, ops[0].Outcome));
        Assert.Equal((null, "c", (bool?)false), (ops[1].Expected, ops[1].Value, ops[1].Outcome));
        Assert.Equal((OpStatus.Info, null, (bool?)null), (ops[2].Status, ops[2].Expected, ops[2].Outcome));
        Assert.Equal((OpKind.Delete, (bool?)true), (ops[3].Kind, ops[3].Outcome));
        Assert.Equal((OpKind.Delete, (bool?)null), (ops[4].Kind, ops[4].Outcome));
    }

    [Fact]
    public void A_malformed_line_is_reported_with_its_line_number()
    {
        var e = Assert.Throws<FormatException>(() => HistoryReader.Read(new StringReader("""
            {"process":1,"type":"invoke","f":"read","key":"k1","value":null,"time_ns":1}
            {"process":1,"type":"ok","f":"read","key":"k1","value":null,"time_ns":2}
            {"process":1,"type":"ok","f":"read","key":"k1","value":null,"time_ns":3}
            """)));

        Assert.Contains("line 3", e.Message);
        Assert.Contains("never invoked", e.Message);
    }

    [Fact]
    public void A_cas_ok_without_an_outcome_is_rejected()
    {
        var e = Assert.Throws<FormatException>(() => HistoryReader.Read(new StringReader("""
            {"process":1,"type":"invoke","f":"cas","key":"k1","expected":"a","value":"b","time_ns":1}
            {"process":1,"type":"ok","f":"cas","key":"k1","value":"b","time_ns":2}
            """)));

        Assert.Contains("line 2", e.Message);
    }
}
