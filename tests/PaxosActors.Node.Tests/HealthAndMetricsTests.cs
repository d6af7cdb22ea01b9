using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace PaxosActors.Node.Tests;

/// <summary>
/// <c>/metrics</c> (Prometheus text), <c>/health/live</c> and <c>/health/ready</c> on a node process; and a journal
/// that refuses writes (SQLite's "database or disk is full", made real by capping the file's pages with the journal
/// plugin's test-only <c>max-page-count</c>), which must show in <c>/status</c>, <c>/health/ready</c> and the metrics,
/// with commands refused at once, saying why.
/// </summary>
public sealed class HealthAndMetricsTests(SingleNodeFixture fixture) : IClassFixture<SingleNodeFixture>
{
    private HttpClient Http => fixture.Node.Http;

    [Fact]
    public async Task Metrics_are_Prometheus_text_whose_paxos_metrics_move_under_writes()
    {
        var before = await ScrapeAsync(Http);
        const int writes = 20;
        for (int i = 0; i < writes; i++)
        {
            using var put = await Http.PutAsync($"kv/metrics-{i}", new StringContent($"v{i}"));
            Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        }
        var after = await ScrapeAsync(Http);

        Assert.Contains("# TYPE paxos_proposals_total counter", after.Text);
        Assert.Contains("# TYPE paxos_journal_commit_duration_seconds histogram", after.Text);
        Assert.True(after.Sum("paxos_proposals_total") >= before.Sum("paxos_proposals_total") + 1, after.Text);
        Assert.True(after.Sum("paxos_proposal_commands_sum") >= before.Sum("paxos_proposal_commands_sum") + writes);
        Assert.True(after.Sum("paxos_chosen_slots_total") > before.Sum("paxos_chosen_slots_total"));
        Assert.True(after.Sum("paxos_applied_slot") > before.Sum("paxos_applied_slot"));
        Assert.True(after.Sum("paxos_journal_commit_duration_seconds_count") > before.Sum("paxos_journal_commit_duration_seconds_count"));
        Assert.True(after.Sum("paxos_journal_commit_operations_sum") > before.Sum("paxos_journal_commit_operations_sum"));
        const string puts = "paxos_http_request_duration_seconds_count{route=\"/kv/{**key}\",method=\"PUT\",status=\"204\"}";
        Assert.Equal(before.Sum(puts) + writes, after.Sum(puts));
        Assert.Equal(1, after.Sum("paxos_leader"));
        Assert.True(after.Sum("paxos_leader_changes_total") >= 1);
        Assert.True(after.Sum("paxos_ballot_round") >= 1);
        Assert.True(after.Sum("paxos_acceptor_promised_round") >= 1);
        Assert.Equal(1, after.Sum("paxos_acceptor_voting"));
        Assert.Equal(1, after.Sum("paxos_journal_healthy"));
        Assert.True(after.Has("paxos_learner_lag") && after.Has("paxos_backoff_retries_total"), after.Text);
        Assert.True(after.Sum("paxos_agent_starts_total{agent=\"acceptor\"}") >= 1);
    }

    [Fact]
    public async Task Live_and_ready_answer_200_on_a_healthy_node_and_name_each_check()
    {
        var (liveStatus, live) = await HealthAsync(Http, "health/live");
        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal("Healthy", live.GetProperty("checks").GetProperty("actor-system").GetProperty("status").GetString());

        var (readyStatus, ready) = await HealthAsync(Http, "health/ready");
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Equal("voting", checks.GetProperty("acceptor").GetProperty("description").GetString());
        Assert.Equal("the journal accepts writes", checks.GetProperty("journal").GetProperty("description").GetString());
        Assert.StartsWith("applied through slot", checks.GetProperty("learner").GetProperty("description").GetString());
    }

    [Fact]
    public async Task A_full_journal_shows_in_status_health_and_metrics_and_commands_are_refused_at_once_saying_why()
    {
        // A few dozen pages: enough to start and take a few writes, then SQLite answers SQLITE_FULL, as on a full disk.
        using var node = TestNode.Start(configText: """
            akka.persistence.journal.paxos-sqlite.max-page-count = 40
            paxos.kv.request-timeout = 2s
            """);
        await node.WaitForWritesAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, (await HealthAsync(node.Http, "health/ready")).Status);

        const string full = "SQLite Error 13: 'database or disk is full'";
        string value = new('x', 8000);
        string? refusal = null;
        for (int i = 0; i < 60 && refusal is null; i++)
        {
            using var put = await node.Http.PutAsync($"kv/big-{i}", new StringContent(value));
            string body = await put.Content.ReadAsStringAsync();
            if (put.StatusCode == HttpStatusCode.ServiceUnavailable && Error(body).Contains(full)) refusal = body;
            else Assert.True(put.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.ServiceUnavailable, body);
        }
        Assert.True(refusal is not null, "the capped journal never filled up\n" + node.Output);

        // Refused at once (well under the 2 s request timeout), with the journal's own error.
        var watch = Stopwatch.StartNew();
        using (var put = await node.Http.PutAsync("kv/one-more", new StringContent("v")))
        {
            watch.Stop();
            Assert.Equal(HttpStatusCode.ServiceUnavailable, put.StatusCode);
            string error = Error(await put.Content.ReadAsStringAsync());
            Assert.StartsWith("refused: this node's journal refuses writes: " + full, error);
            Assert.Contains("Nothing was written", error);
        }
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the refusal took {watch.Elapsed.TotalMilliseconds:0} ms");

        using (var status = JsonDocument.Parse(await node.Http.GetStringAsync("status")))
        {
            var root = status.RootElement;
            Assert.StartsWith("the journal refuses writes: " + full, root.GetProperty("journal_error").GetString());
            var acceptor = root.GetProperty("acceptor");
            Assert.False(acceptor.GetProperty("votes").GetBoolean());
            Assert.StartsWith("failing: its journal refuses writes: " + full, acceptor.GetProperty("state").GetString());
        }

        var (readyStatus, ready) = await HealthAsync(node.Http, "health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, readyStatus);
        var checks = ready.GetProperty("checks");
        Assert.Equal("Unhealthy", checks.GetProperty("journal").GetProperty("status").GetString());
        Assert.Contains(full, checks.GetProperty("journal").GetProperty("description").GetString());
        Assert.Equal("Unhealthy", checks.GetProperty("acceptor").GetProperty("status").GetString());
        // Alive all the same: restarting the process would not free the disk.
        Assert.Equal(HttpStatusCode.OK, (await HealthAsync(node.Http, "health/live")).Status);

        var metrics = await ScrapeAsync(node.Http);
        Assert.Equal(0, metrics.Sum("paxos_journal_healthy"));
        Assert.Equal(0, metrics.Sum("paxos_acceptor_voting"));
        Assert.True(metrics.Sum("paxos_journal_write_failures_total") >= 1, metrics.Text);
        Assert.True(metrics.Sum("paxos_http_request_duration_seconds_count{route=\"/kv/{**key}\",method=\"PUT\",status=\"503\"}") >= 2);
    }

    private static string Error(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return doc.RootElement.GetProperty("error").GetString() ?? "";
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(HttpClient http, string path)
    {
        using var resp = await http.GetAsync(path);
        Assert.StartsWith("application/json", resp.Content.Headers.ContentType?.ToString());
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsStringAsync());
        return (resp.StatusCode, doc.RootElement.Clone());
    }

    private static async Task<Scrape> ScrapeAsync(HttpClient http)
    {
        using var resp = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        Assert.StartsWith("text/plain", resp.Content.Headers.ContentType?.ToString());
        return new Scrape(await resp.Content.ReadAsStringAsync());
    }

    /// <summary>One answer of /metrics: samples by name, labels as printed (the exporter's scope label left out).</summary>
    private sealed class Scrape(string text)
    {
        public string Text { get; } = text;

        private readonly List<(string Name, string Labels, double Value)> _samples = Parse(text);

        /// <summary>The sum of the samples of <paramref name="selector"/>: a name, or a name with labels that each
        /// sample must have (<c>name{a="x",b="y"}</c>).</summary>
        public double Sum(string selector)
        {
            int brace = selector.IndexOf('{');
            string name = brace < 0 ? selector : selector[..brace];
            string[] wanted = brace < 0 ? [] : SplitLabels(selector[(brace + 1)..^1]);
            return _samples.Where(s => s.Name == name && wanted.All(SplitLabels(s.Labels).Contains)).Sum(s => s.Value);
        }

        public bool Has(string name) => _samples.Any(s => s.Name == name);

        private static List<(string, string, double)> Parse(string text)
        {
            var samples = new List<(string, string, double)>();
            foreach (string line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#') continue;
                int space = line.LastIndexOf(' ');
                string series = line[..space];
                double value = double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
                int brace = series.IndexOf('{');
                samples.Add(brace < 0 ? (series, "", value) : (series[..brace], series[(brace + 1)..^1], value));
            }
            return samples;
        }

        // Label values here hold no commas outside quotes but the route's "{**key}" has none either: split on '",'.
        private static string[] SplitLabels(string labels) =>
            labels.Split("\",", StringSplitOptions.RemoveEmptyEntries).Select(l => l.EndsWith('"') ? l : l + "\"").ToArray();
    }
}
