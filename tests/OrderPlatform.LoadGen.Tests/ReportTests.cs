using System.Text;
using System.Text.Json;
using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>What the report looks like to a script (JSON) and to a person (the table), and what the client sends and reads.</summary>
public sealed class ReportTests
{
    private static readonly ServerMetrics Watched = new(87.5, 412.3, 24_000, 8.04, 6_000, 2.01, 120, 0.8, 26.25, 8.79, 40.1, 12.03, 4.03, 63.2, 11.4, 3.42)
    {
        WalRecords = 365_000,
        WalBytes = 52_000_000,
        WalRecordsPerSaga = 122.28,
        WalKbPerSaga = 17.01,
    };

    private static RunResult Run(double rate, long errors, double p99) => new(
        rate, 5, 30, 3000, 3000 - errors, rate - 0.5,
        new LatencySummary(3000 - errors, 12.5, 20, p99, p99 + 1, p99 + 2, 13.25),
        new LatencySummary(3000, 1.5, 2, 3, 4, 5, 1.75),
        errors,
        errors == 0 ? new Dictionary<string, long>() : new Dictionary<string, long> { ["timeout"] = errors },
        new Dictionary<string, long> { ["Completed"] = 2000, ["Cancelled"] = 1000 - errors },
        4,
        17);

    [Fact]
    public void The_json_report_has_the_documented_shape()
    {
        var report = new LoadReport(
            new DateTimeOffset(2026, 11, 23, 8, 0, 0, TimeSpan.Zero),
            ["http://127.0.0.1:5081/"],
            new LoadSettings(5, 30, 100, "bench-sku", 100_000, ["tok_approve", "tok_decline"], 30, 5000, 25, "post", 10, 930),
            [Run(100, 0, 40) with { Phase = "ramp" }, Run(200, 3, 1500) with { Phase = "ramp", Server = Watched, ShareOfCommitCeiling = 0.215, Timeline = [new(0, 199, 40.5), new(1, 198, 1502)] }],
            new RampSummary(100, 300, 100, 1000, 100, 200));

        using var document = JsonDocument.Parse(report.ToJson());
        var root = document.RootElement;

        Assert.Equal("2026-11-23T08:00:00+00:00", root.GetProperty("startedAt").GetString());
        Assert.Equal("http://127.0.0.1:5081/", root.GetProperty("targets")[0].GetString());
        var settings = root.GetProperty("settings");
        Assert.Equal(5, settings.GetProperty("warmupSeconds").GetDouble());
        Assert.Equal(100_000, settings.GetProperty("restock").GetInt32());
        Assert.Equal("tok_decline", settings.GetProperty("tokens")[1].GetString());
        Assert.Equal(25, settings.GetProperty("pollIntervalMs").GetDouble());
        Assert.Equal(930, settings.GetProperty("commitCeilingTps").GetDouble());

        var runs = root.GetProperty("runs");
        Assert.Equal(2, runs.GetArrayLength());
        var second = runs[1];
        Assert.Equal(200, second.GetProperty("offeredRate").GetDouble());
        Assert.Equal(3000, second.GetProperty("sent").GetInt64());
        Assert.Equal(2997, second.GetProperty("finished").GetInt64());
        Assert.Equal(199.5, second.GetProperty("sagasPerSecond").GetDouble());
        Assert.Equal(1500, second.GetProperty("latency").GetProperty("p99").GetDouble());
        Assert.Equal(1501, second.GetProperty("latency").GetProperty("p999").GetDouble());
        Assert.Equal(1502, second.GetProperty("latency").GetProperty("max").GetDouble());
        Assert.Equal(2997, second.GetProperty("latency").GetProperty("count").GetInt64());
        Assert.Equal(1.5, second.GetProperty("postLatency").GetProperty("p50").GetDouble());
        Assert.Equal(3, second.GetProperty("errors").GetInt64());
        Assert.Equal(3, second.GetProperty("errorsByKind").GetProperty("timeout").GetInt64());
        Assert.Equal(2000, second.GetProperty("outcomes").GetProperty("Completed").GetInt64());
        Assert.Equal(4, second.GetProperty("retries").GetInt64());
        Assert.Equal(17, second.GetProperty("maxInFlight").GetInt32());
        Assert.Equal("ramp", second.GetProperty("phase").GetString());
        Assert.Equal(0.215, second.GetProperty("shareOfCommitCeiling").GetDouble());
        var server = second.GetProperty("server");
        Assert.Equal(87.5, server.GetProperty("siloCpuPercent").GetDouble());
        Assert.Equal(412.3, server.GetProperty("siloRssMb").GetDouble());
        Assert.Equal(24_000, server.GetProperty("commits").GetInt64());
        Assert.Equal(8.04, server.GetProperty("commitsPerSaga").GetDouble());
        Assert.Equal(6_000, server.GetProperty("walSyncs").GetInt64());
        Assert.Equal(2.01, server.GetProperty("walSyncsPerSaga").GetDouble());
        Assert.Equal(365_000, server.GetProperty("walRecords").GetInt64());
        Assert.Equal(52_000_000, server.GetProperty("walBytes").GetInt64());
        Assert.Equal(122.28, server.GetProperty("walRecordsPerSaga").GetDouble());
        Assert.Equal(17.01, server.GetProperty("walKbPerSaga").GetDouble());
        Assert.Equal(120, server.GetProperty("relayBacklogMax").GetInt64());
        Assert.Equal(0.8, server.GetProperty("relayLagMaxSeconds").GetDouble());
        Assert.Equal(26.25, server.GetProperty("siloCpuSeconds").GetDouble());
        Assert.Equal(8.79, server.GetProperty("siloCpuMsPerSaga").GetDouble());
        Assert.Equal(40.1, server.GetProperty("postgresCpuPercent").GetDouble());
        Assert.Equal(12.03, server.GetProperty("postgresCpuSeconds").GetDouble());
        Assert.Equal(4.03, server.GetProperty("postgresCpuMsPerSaga").GetDouble());
        Assert.Equal(63.2, server.GetProperty("boxBusyPercent").GetDouble());
        Assert.Equal(11.4, server.GetProperty("loadGeneratorCpuPercent").GetDouble());
        Assert.Equal(3.42, server.GetProperty("loadGeneratorCpuSeconds").GetDouble());
        Assert.Equal(JsonValueKind.Null, runs[0].GetProperty("server").ValueKind);
        var slowest = second.GetProperty("timeline")[1];
        Assert.Equal((1, 198, 1502.0), (slowest.GetProperty("second").GetInt32(), slowest.GetProperty("finished").GetInt64(), slowest.GetProperty("maxMs").GetDouble()));
        Assert.Equal(0, runs[0].GetProperty("timeline").GetArrayLength());

        var ramp = root.GetProperty("ramp");
        Assert.Equal(100, ramp.GetProperty("highestSustainedRate").GetDouble());
        Assert.Equal(200, ramp.GetProperty("firstFailedRate").GetDouble());
        Assert.Equal(1000, ramp.GetProperty("maxP99Ms").GetDouble());
    }

    [Fact]
    public void A_run_without_ramp_and_without_finished_orders_writes_nulls_not_zeros()
    {
        var empty = new RunResult(10, 1, 1, 10, 0, 0, LatencySummary.From(LatencySummary.NewHistogram()), LatencySummary.From(LatencySummary.NewHistogram()),
            10, new Dictionary<string, long> { ["transport"] = 10 }, new Dictionary<string, long>(), 0, 10);
        var report = new LoadReport(DateTimeOffset.UnixEpoch, ["http://127.0.0.1:1/"], new LoadSettings(1, 1, 1, "s", null, ["t"], 1, 1, 1, "post", 1, null), [empty], null);

        using var document = JsonDocument.Parse(report.ToJson());

        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("ramp").ValueKind);
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("settings").GetProperty("restock").ValueKind);
        var latency = document.RootElement.GetProperty("runs")[0].GetProperty("latency");
        Assert.Equal(0, latency.GetProperty("count").GetInt64());
        Assert.Equal(JsonValueKind.Null, latency.GetProperty("p99").ValueKind);
        Assert.Contains("  -", ReportText.Row(empty), StringComparison.Ordinal);
    }

    [Fact]
    public void The_table_has_one_row_per_run_under_its_header_and_names_the_errors()
    {
        var run = Run(200, 3, 1500);

        var header = ReportText.Header();
        var row = ReportText.Row(run);

        Assert.Equal(header.Length, row.Length);
        var columns = header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("run", header.TrimStart(), StringComparison.Ordinal);
        Assert.Contains("p99.9", columns);
        Assert.Equal(["fixed", "200", "3000", "199.5", "12.5", "20.0", "1500", "1501", "1502", "1.5", "3.0", "3", "2000", "997", "0", "17"], row.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["  fixed 200/s errors: timeout 3"], ReportText.Details(run));

        var watched = run with { Server = Watched, ShareOfCommitCeiling = 0.215 };
        var wide = ReportText.Row(watched, server: true, ceiling: true);
        Assert.Equal(ReportText.Header(server: true, ceiling: true).Length, wide.Length);
        Assert.Contains("commits/saga", ReportText.Header(server: true, ceiling: true), StringComparison.Ordinal);
        Assert.EndsWith(" silo CPU % silo RSS MB pg CPU % box busy % loadgen CPU % silo ms/saga pg ms/saga sagas/s / pg tps", ReportText.Header(server: true, ceiling: true), StringComparison.Ordinal);
        Assert.EndsWith("       40         63            11         8.79       4.03             0.22", wide, StringComparison.Ordinal);
        Assert.Contains(" WAL syncs/saga WAL KB/saga relay backlog ", ReportText.Header(server: true), StringComparison.Ordinal);
        Assert.Equal(["8.0", "2.0", "17.0", "120", "0.8", "88", "412", "40", "63", "11", "8.79", "4.03", "0.22"], wide.Split(' ', StringSplitOptions.RemoveEmptyEntries)[^13..]);
        Assert.Equal(Enumerable.Repeat("-", 12), ReportText.Row(run, server: true).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^12..]);
        Assert.DoesNotContain("pg CPU %", ReportText.Header(), StringComparison.Ordinal);
        Assert.Equal(
            "highest rate sustained (p99 < 1000 ms and no errors): 100 orders/s; 200/s was not",
            ReportText.Verdict(new RampSummary(100, 300, 100, 1000, 100, 200)));
        Assert.Equal(
            "no rate sustained (p99 < 1000 ms and no errors); the first step, 100/s, was not",
            ReportText.Verdict(new RampSummary(100, 300, 100, 1000, null, 100)));
    }

    [Fact]
    public void A_run_whose_silos_told_their_grouped_writes_says_where_their_time_went_under_the_table_and_in_the_json()
    {
        var appends = new WriteTimingSummary(12_000, 4_000, 3, 0.0421, 0.713, 9.5135, 1.19, 2.828, 113.4);
        var answers = new WriteTimingSummary(3_000, 2_500, 1.2, 0.01, 0.1, 1, 0.5, 1.5, 4);
        var looks = new WriteTimingSummary(1_500, 300, 5, 0.2, 0.8, 2, 0.3, 0.9, 3);
        var run = Run(200, 0, 80) with { Server = Watched with { Appends = appends, ProviderAnswers = answers, ProviderCaptureLooks = looks } };

        Assert.Equal(
            [
                "  fixed 200/s, the silos' appends: 12000 in 4000 statements (3.0 each); ms waiting for the statement p50 0.042, p90 0.713, p99 9.5; "
                    + "in it, with its commit, p50 1.2, p90 2.8, p99 113",
                "  fixed 200/s, the payment simulator's answers: 3000 in 2500 statements (1.2 each); ms waiting for the statement p50 0.010, p90 0.100, p99 1.0; "
                    + "in it, with its commit, p50 0.500, p90 1.5, p99 4.0",
                "  fixed 200/s, the payment simulator's capture look-ups: 1500 in 300 statements (5.0 each); ms waiting for the statement p50 0.200, p90 0.800, p99 2.0; "
                    + "in it, with its commit, p50 0.300, p90 0.900, p99 3.0",
            ],
            ReportText.Details(run));
        Assert.Empty(ReportText.Details(Run(200, 0, 80) with { Server = Watched }));
        Assert.Empty(ReportText.Details(Run(200, 0, 80) with { Server = Watched with { Appends = new WriteTimingSummary(0, 0, null, null, null, null, null, null, null) } }));

        var report = new LoadReport(DateTimeOffset.UnixEpoch, ["http://127.0.0.1:5081/"], new LoadSettings(5, 30, 100, "bench-sku", 100_000, ["tok_approve"], 30, 5000, 25, "post", 10, null), [run], null);
        using var document = JsonDocument.Parse(report.ToJson());
        var written = document.RootElement.GetProperty("runs")[0].GetProperty("server").GetProperty("appends");
        Assert.Equal(12_000, written.GetProperty("requests").GetInt64());
        Assert.Equal(3, written.GetProperty("requestsPerGroup").GetDouble());
        Assert.Equal(9.5135, written.GetProperty("waitP99Ms").GetDouble());
        Assert.Equal(113.4, written.GetProperty("writeP99Ms").GetDouble());
        Assert.Equal(2_500, document.RootElement.GetProperty("runs")[0].GetProperty("server").GetProperty("providerAnswers").GetProperty("groups").GetInt64());
        Assert.Equal(300, document.RootElement.GetProperty("runs")[0].GetProperty("server").GetProperty("providerCaptureLooks").GetProperty("groups").GetInt64());
    }

    [Fact]
    public void A_run_whose_silos_refused_orders_says_how_many_under_the_table_and_in_the_json()
    {
        var run = Run(600, 0, 900) with { Server = Watched with { RefusedOrders = 1_234 } };

        Assert.Equal(["  fixed 600/s: the silos refused 1234 POSTs as over their admission limit (sent again after Retry-After)"], ReportText.Details(run));
        Assert.Empty(ReportText.Details(Run(600, 0, 900) with { Server = Watched with { RefusedOrders = 0 } }));

        var report = new LoadReport(DateTimeOffset.UnixEpoch, ["http://127.0.0.1:5081/"], new LoadSettings(5, 30, 100, "bench-sku", 100_000, ["tok_approve"], 30, 5000, 25, "post", 10, null), [run], null);
        using var document = JsonDocument.Parse(report.ToJson());
        Assert.Equal(1_234, document.RootElement.GetProperty("runs")[0].GetProperty("server").GetProperty("refusedOrders").GetInt64());
    }

    [Fact]
    public void A_run_whose_silos_told_their_garbage_collectors_counts_says_what_an_order_allocated_under_the_table_and_in_the_json()
    {
        var run = Run(200, 0, 80) with { Server = Watched with { Gc = new GcSummary(1_410_000_000, 235.04, 1.87, 640, 25, 0) } };

        Assert.Equal(
            ["  fixed 200/s, the silos' garbage collector: 235.0 KB allocated a saga, paused 1.87% of the window; collections gen0 640, gen1 25, gen2 0"],
            ReportText.Details(run));
        Assert.Equal(
            ["  fixed 200/s, the silos' garbage collector: - KB allocated a saga, paused 0.00% of the window; collections gen0 0, gen1 0, gen2 0"],
            ReportText.Details(Run(200, 0, 80) with { Server = Watched with { Gc = new GcSummary(0, null, 0, 0, 0, 0) } }));

        var report = new LoadReport(DateTimeOffset.UnixEpoch, ["http://127.0.0.1:5081/"], new LoadSettings(5, 30, 100, "bench-sku", 100_000, ["tok_approve"], 30, 5000, 25, "post", 10, null), [run], null);
        using var document = JsonDocument.Parse(report.ToJson());
        var gc = document.RootElement.GetProperty("runs")[0].GetProperty("server").GetProperty("gc");
        Assert.Equal(235.04, gc.GetProperty("allocatedKbPerSaga").GetDouble());
        Assert.Equal(1.87, gc.GetProperty("pausedPercent").GetDouble());
        Assert.Equal(25, gc.GetProperty("gen1").GetInt64());
    }

    [Fact]
    public void Order_n_takes_the_nth_sku_and_token_in_turn_in_the_body_the_api_documents()
    {
        var mix = new OrderMix("bench-sku", 3, ["tok_approve", "tok_decline"]);

        using var body = JsonDocument.Parse(mix.Body(7));
        var root = body.RootElement;

        Assert.Equal("c-7", root.GetProperty("customerId").GetString());
        Assert.Equal("EUR", root.GetProperty("currency").GetString());
        Assert.Equal("tok_decline", root.GetProperty("paymentToken").GetString());
        var line = Assert.Single(root.GetProperty("lines").EnumerateArray());
        Assert.Equal("bench-sku-1", line.GetProperty("sku").GetString());
        Assert.Equal(1, line.GetProperty("quantity").GetInt32());
        Assert.Equal(5.25m, line.GetProperty("unitPrice").GetDecimal());
        Assert.Equal(["bench-sku-0", "bench-sku-1", "bench-sku-2"], mix.AllSkus());
        Assert.Equal("tok_approve", mix.Token(8));
        Assert.Equal("loadgen-run1-8", OrderMix.IdempotencyKey("run1", 8));
        Assert.Equal("""{"quantity":250}""", Encoding.UTF8.GetString(OrderMix.RestockBody(250)));
    }

    [Theory]
    [InlineData("""{"orderId":"0c1b","status":"Completed","saga":{"phase":"Finished","outcome":"Completed","steps":[]}}""", true, "Completed")]
    [InlineData("""{"status":"Cancelled","saga":{"phase":"Finished","outcome":"Cancelled"}}""", true, "Cancelled")]
    [InlineData("""{"status":"Rejected","saga":{"phase":"Finished","outcome":null}}""", true, "Rejected")]
    [InlineData("""{"status":"Placed","saga":{"phase":"Forward","outcome":null}}""", false, "Placed")]
    [InlineData("""{"status":"Confirmed","saga":{"phase":"Compensating"}}""", false, "Confirmed")]
    public void The_order_read_back_says_whether_the_saga_finished_and_how(string json, bool finished, string outcome)
    {
        Assert.Equal((finished, outcome), HttpOrderDriver.ReadState(Encoding.UTF8.GetBytes(json)));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("""{"status":"Completed"}""")]
    [InlineData("""{"saga":{"outcome":"Completed"}}""")]
    [InlineData("""{"saga":"Finished"}""")]
    public void An_answer_that_is_not_an_order_is_not_read_as_one(string json)
    {
        Assert.Null(HttpOrderDriver.ReadState(Encoding.UTF8.GetBytes(json)));
    }
}
