using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>Where completed orders' time went: the stages between the commits of their milestones, and how the report shows them.</summary>
public sealed class OrderStagesTests
{
    private static readonly DateTime Start = new(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc);

    /// <summary>An order whose milestones came the given milliseconds after its saga's start (null: not recorded).</summary>
    private static Dictionary<string, DateTime> Order(double? placed, double? authorized, double? confirmed, double? captured, double? completed)
    {
        var milestones = new Dictionary<string, DateTime>(StringComparer.Ordinal) { ["saga.started"] = Start };
        void At(string type, double? ms)
        {
            if (ms is { } offset)
            {
                milestones[type] = Start.AddMilliseconds(offset);
            }
        }

        At("order.placed", placed);
        At("payment.authorized", authorized);
        At("order.confirmed", confirmed);
        At("payment.captured", captured);
        At("order.completed", completed);
        return milestones;
    }

    [Fact]
    public void Each_stage_runs_from_one_milestone_to_the_next_and_they_add_up_to_the_whole()
    {
        var stages = OrderStages.Summarize(
        [
            Order(5, 20, 30, 45, 60),
            Order(7, 30, 40, 60, 90),
            Order(9, 40, 50, 75, 120),
        ]);

        Assert.Equal(["start -> placed", "placed -> authorized", "authorized -> confirmed", "confirmed -> captured", "captured -> completed", "start -> completed"], stages.Select(s => s.Stage));
        Assert.All(stages, s => Assert.Equal(3, s.Latency.Count));
        // The histograms keep three significant digits.
        Assert.All(stages.Zip([7.0, 23, 10, 20, 30, 90]), x => Assert.Equal(x.Second, x.First.Latency.P50!.Value, x.Second * 0.001));
        Assert.All(stages.Zip([9.0, 31, 10, 25, 45, 120]), x => Assert.Equal(x.Second, x.First.Latency.Max!.Value, x.Second * 0.001));
    }

    [Fact]
    public void An_order_missing_a_milestone_leaves_out_only_the_stages_that_need_it_and_a_stage_never_goes_below_zero()
    {
        // The second order's confirmation was not read; the third one's capture seems to precede its confirmation (two
        // silos whose clocks differ a little).
        var stages = OrderStages.Summarize(
        [
            Order(5, 20, 30, 45, 60),
            Order(5, 20, null, 45, 60),
            Order(5, 20, 30, 29, 60),
        ]);

        Assert.Equal([3L, 3, 2, 2, 3, 3], stages.Select(s => s.Latency.Count));
        var captured = stages.Single(s => s.Stage == "confirmed -> captured").Latency;
        Assert.Equal(0, captured.P50);
        Assert.Equal(15, captured.Max!.Value, 15 * 0.001);
    }

    [Fact]
    public void The_report_lists_the_stages_under_the_table_and_in_the_json()
    {
        var stages = OrderStages.Summarize([Order(5, 20, 30, 45, 60), Order(7, 30, 40, 60, 90)]);
        var run = new RunResult(
            200, 5, 30, 2, 2, 0.07, LatencySummary.From(LatencySummary.NewHistogram()), LatencySummary.From(LatencySummary.NewHistogram()),
            0, new Dictionary<string, long>(), new Dictionary<string, long> { ["Completed"] = 2 }, 0, 2)
        {
            Stages = stages,
            CompletedOrders = [Guid.NewGuid(), Guid.NewGuid()],
        };

        var lines = ReportText.Details(run).ToList();

        Assert.Equal("  fixed 200/s, where the completed orders' time went, from commit to commit of their milestones (ms):", lines[0]);
        Assert.Equal(["stage", "orders", "p50", "p90", "p99", "max"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["start", "->", "placed", "2", "5.0", "7.0", "7.0", "7.0"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["start", "->", "completed", "2", "60.0", "90.0", "90.0", "90.0"], lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(8, lines.Count);

        var json = System.Text.Json.JsonDocument.Parse(new LoadReport(DateTimeOffset.UnixEpoch, [], new LoadSettings(5, 30, 1, "s", null, [], 30, 10, 25, "post", 10, null), [run], null).ToJson());
        var written = json.RootElement.GetProperty("runs")[0];
        Assert.Equal(6, written.GetProperty("stages").GetArrayLength());
        Assert.Equal("captured -> completed", written.GetProperty("stages")[4].GetProperty("stage").GetString());
        Assert.Equal(30, written.GetProperty("stages")[4].GetProperty("latency").GetProperty("max").GetDouble(), 30 * 0.001);
        Assert.False(written.TryGetProperty("completedOrders", out _), "the order ids stay out of the report");
        Assert.Empty(ReportText.Details(run with { Stages = null }));
    }
}
