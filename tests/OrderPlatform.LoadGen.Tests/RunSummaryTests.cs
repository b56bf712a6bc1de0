using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Runs;
using OrderPlatform.LoadGen.Scheduling;
using OrderPlatform.LoadGen.Tests.Infrastructure;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>What a run reports from what its orders did: percentiles, errors, outcomes, throughput.</summary>
public sealed class RunSummaryTests
{
    /// <summary>HDR histograms with three significant digits report a value within 0.1 % of the one recorded.</summary>
    private static void Near(double expected, double? actual) =>
        Assert.True(actual is { } a && Math.Abs(a - expected) <= expected * 0.001, $"Expected {expected} ms within 0.1 %, got {actual}.");

    [Fact]
    public void Percentiles_come_from_the_recorded_latencies_of_the_measured_orders_only()
    {
        // 1000/s, 0.1 s of warm-up (orders 0-99), then 1 s measured (orders 100-1099).
        var schedule = new ArrivalSchedule(1000, TimeSpan.FromSeconds(0.1), TimeSpan.FromSeconds(1));
        var recorder = new RunRecorder(schedule, maxInFlight: 10_000);
        for (var n = 0L; n < schedule.Count; n++)
        {
            var order = schedule[n];
            Assert.True(recorder.TryStart(order));

            // Measured order k (0-999) takes k+1 ms; warm-up orders take a minute, which must not show anywhere.
            var latency = schedule.IsMeasured(n) ? TimeSpan.FromMilliseconds(n - schedule.FirstMeasured + 1) : TimeSpan.FromMinutes(1);
            recorder.Finish(order, FakeDriver.FinishedAfter(order, latency));
        }

        var result = recorder.Summarize();

        Assert.Equal(1000, result.Sent);
        Assert.Equal(1000, result.Finished);
        Assert.Equal(1000, result.Latency.Count);
        Near(500, result.Latency.P50);
        Near(900, result.Latency.P90);
        Near(990, result.Latency.P99);
        Near(999, result.Latency.P999);
        Near(1000, result.Latency.Max);
        Near(500.5, result.Latency.Mean);
        Near(1, result.PostLatency.P99);
        Assert.Equal(0, result.Errors);
        Assert.Equal(new Dictionary<string, long> { ["Completed"] = 1000 }, result.Outcomes);
    }

    [Fact]
    public void The_timeline_shows_each_measured_second_with_its_finished_orders_and_slowest_one()
    {
        // 10/s, 1 s of warm-up, 3 s measured; one order of the middle second stalls for 900 ms, one of the last fails.
        var schedule = new ArrivalSchedule(10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        var recorder = new RunRecorder(schedule, maxInFlight: 100);
        for (var n = 0L; n < schedule.Count; n++)
        {
            var order = schedule[n];
            Assert.True(recorder.TryStart(order));
            var second = n / 10;
            recorder.Finish(order, (second, n % 10) switch
            {
                (2, 3) => FakeDriver.FinishedAfter(order, TimeSpan.FromMilliseconds(900)),
                (3, 0) => OrderResult.Failed(ErrorKinds.Timeout, null, retries: 0),
                _ => FakeDriver.FinishedAfter(order, TimeSpan.FromMilliseconds(10 + n % 10)),
            });
        }

        var timeline = recorder.Summarize().Timeline;

        Assert.Equal([new SecondOfRun(0, 10, 19), new SecondOfRun(1, 10, 900), new SecondOfRun(2, 9, 19)], timeline);
    }

    [Fact]
    public void Errors_are_counted_by_kind_and_outcomes_apart_and_the_latency_histogram_holds_only_finished_orders()
    {
        var schedule = new ArrivalSchedule(10, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        var recorder = new RunRecorder(schedule, maxInFlight: 100);
        OrderResult[] results =
        [
            FakeDriver.FinishedAfter(schedule[0], TimeSpan.FromMilliseconds(100)),
            FakeDriver.FinishedAfter(schedule[1], TimeSpan.FromMilliseconds(200), "Cancelled"),
            FakeDriver.FinishedAfter(schedule[2], TimeSpan.FromMilliseconds(300), "Rejected"),
            FakeDriver.FinishedAfter(schedule[3], TimeSpan.FromMilliseconds(400), "Cancelled"),
            OrderResult.Failed(ErrorKinds.Timeout, TimeSpan.FromMilliseconds(450), retries: 0),
            OrderResult.Failed(ErrorKinds.Http(422), null, retries: 0),
            OrderResult.Failed(ErrorKinds.Http(503), null, retries: 7),
            OrderResult.Failed(ErrorKinds.Transport, null, retries: 3),
            OrderResult.Failed(ErrorKinds.Timeout, TimeSpan.FromMilliseconds(900), retries: 0),
            FakeDriver.FinishedAfter(schedule[9], TimeSpan.FromMilliseconds(50)),
        ];
        for (var n = 0; n < results.Length; n++)
        {
            Assert.True(recorder.TryStart(schedule[n]));
            recorder.Finish(schedule[n], results[n]);
        }

        var result = recorder.Summarize();

        Assert.Equal(10, result.Sent);
        Assert.Equal(5, result.Finished);
        Assert.Equal(5, result.Latency.Count);
        Assert.Equal(5, result.Errors);
        Assert.Equal(new Dictionary<string, long> { ["http-422"] = 1, ["http-503"] = 1, ["timeout"] = 2, ["transport"] = 1 }, result.ErrorsByKind);
        Assert.Equal(new Dictionary<string, long> { ["Cancelled"] = 2, ["Completed"] = 2, ["Rejected"] = 1 }, result.Outcomes);
        Assert.Equal(10, result.Retries);
        Near(400, result.Latency.Max);
        Assert.Equal(7, result.PostLatency.Count);
        Assert.False(result.Sustains(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void An_order_due_while_the_bound_on_orders_in_flight_is_reached_is_not_sent_and_counts_as_overload()
    {
        var schedule = new ArrivalSchedule(10, TimeSpan.FromSeconds(0.1), TimeSpan.FromSeconds(1));
        var recorder = new RunRecorder(schedule, maxInFlight: 2);

        Assert.True(recorder.TryStart(schedule[0]));
        Assert.True(recorder.TryStart(schedule[1]));
        Assert.False(recorder.TryStart(schedule[2]));
        Assert.False(recorder.TryStart(schedule[3]));
        recorder.Finish(schedule[0], FakeDriver.FinishedAfter(schedule[0], TimeSpan.FromMilliseconds(10)));
        Assert.True(recorder.TryStart(schedule[4]));

        var result = recorder.Summarize();
        Assert.Equal(2, result.MaxInFlight);
        Assert.Equal(2, recorder.InFlight);
        Assert.Equal(new Dictionary<string, long> { [ErrorKinds.Overload] = 2 }, result.ErrorsByKind);
    }

    [Fact]
    public void Sagas_per_second_counts_every_saga_seen_finished_inside_the_window_per_second_of_it()
    {
        // Window 1 s to 3 s. Orders 0-9 are warm-up; their finishes inside the window count for throughput only.
        var schedule = new ArrivalSchedule(10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        var recorder = new RunRecorder(schedule, maxInFlight: 1000);
        for (var n = 0L; n < schedule.Count; n++)
        {
            Assert.True(recorder.TryStart(schedule[n]));

            // 1.5 s each: orders due from -0.5 s to 1.5 s finish inside the window, i.e. orders 0 to 14.
            recorder.Finish(schedule[n], FakeDriver.FinishedAfter(schedule[n], TimeSpan.FromSeconds(1.5)));
        }

        var result = recorder.Summarize();
        Assert.Equal(20, result.Sent);
        Assert.Equal(15 / 2.0, result.SagasPerSecond);
    }

    [Fact]
    public void A_histogram_with_nothing_recorded_has_no_percentiles()
    {
        var summary = LatencySummary.From(LatencySummary.NewHistogram());

        Assert.Equal(new LatencySummary(0, null, null, null, null, null, null), summary);
    }

    [Fact]
    public void Latencies_beyond_an_hour_are_recorded_as_an_hour()
    {
        var histogram = LatencySummary.NewHistogram();
        histogram.RecordValue(LatencySummary.Microseconds(TimeSpan.FromHours(5)));
        histogram.RecordValue(LatencySummary.Microseconds(TimeSpan.FromTicks(-10)));

        var summary = LatencySummary.From(histogram);
        Near(3_600_000, summary.Max);
        Assert.Equal(0, summary.P50);
    }

    [Fact]
    public async Task A_load_run_measures_from_the_intended_start_and_its_histogram_holds_every_finished_order()
    {
        var time = new SteppedTime();
        var schedule = new ArrivalSchedule(rate: 20, warmup: TimeSpan.FromSeconds(0.5), measured: TimeSpan.FromSeconds(1));

        // The driver says each order finished 40 ms plus 1 ms per sequence number after it was due, whenever it ran.
        var driver = new FakeDriver((order, _) => Task.FromResult(FakeDriver.FinishedAfter(order, TimeSpan.FromMilliseconds(40 + order.Sequence))));
        var result = await RunToEndAsync(time, Runs.LoadRun.RunAsync(schedule, driver, maxInFlight: 100, time, CancellationToken.None));

        Assert.Equal(20, result.Sent);
        Assert.Equal(result.Finished, result.Latency.Count);
        // Measured orders 10 to 29 took 50 to 69 ms: the 10th of those 20 values is the median.
        Near(59, result.Latency.P50);
        Near(69, result.Latency.P99);
        Near(69, result.Latency.Max);
        Assert.True(result.Sustains(TimeSpan.FromMilliseconds(70)));
        Assert.False(result.Sustains(TimeSpan.FromMilliseconds(68)));
    }

    private static async Task<RunResult> RunToEndAsync(SteppedTime time, Task<RunResult> run)
    {
        await time.DriveAsync(run);
        return await run;
    }
}
