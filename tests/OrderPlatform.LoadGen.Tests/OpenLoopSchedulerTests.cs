using System.Collections.Concurrent;
using OrderPlatform.LoadGen.Scheduling;
using OrderPlatform.LoadGen.Tests.Infrastructure;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>The schedule is fixed in advance and kept whatever the orders do: no coordinated omission.</summary>
public sealed class OpenLoopSchedulerTests
{
    [Fact]
    public void Order_n_is_due_at_n_over_the_rate()
    {
        var schedule = new ArrivalSchedule(rate: 40, warmup: TimeSpan.FromSeconds(1), measured: TimeSpan.FromSeconds(2));

        Assert.Equal(120, schedule.Count);
        Assert.Equal(40, schedule.FirstMeasured);
        Assert.Equal(80, schedule.MeasuredCount);
        Assert.Equal(TimeSpan.Zero, schedule.IntendedStart(0));
        Assert.Equal(TimeSpan.FromMilliseconds(25), schedule.IntendedStart(1));
        Assert.Equal(TimeSpan.FromSeconds(1), schedule.IntendedStart(40));
        Assert.Equal(TimeSpan.FromMilliseconds(2975), schedule.IntendedStart(119));
        Assert.False(schedule.IsMeasured(39));
        Assert.True(schedule.IsMeasured(40));
        Assert.True(schedule.IsMeasured(119));
        Assert.False(schedule.IsMeasured(120));
    }

    [Theory]
    [InlineData(10, 0.3, 0.7, 3, 10)]
    [InlineData(3, 1, 1, 3, 6)]
    [InlineData(7, 0, 1, 0, 7)]
    [InlineData(0.5, 3, 4, 2, 4)]
    [InlineData(1000, 0.001, 0.002, 1, 3)]
    public void The_windows_edges_agree_with_the_intended_starts(double rate, double warmup, double measured, long firstMeasured, long count)
    {
        var schedule = new ArrivalSchedule(rate, TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(measured));

        Assert.Equal(firstMeasured, schedule.FirstMeasured);
        Assert.Equal(count, schedule.Count);
        if (firstMeasured > 0)
        {
            Assert.True(schedule.IntendedStart(firstMeasured - 1) < schedule.WindowStart);
        }

        Assert.True(schedule.IntendedStart(firstMeasured) >= schedule.WindowStart);
        Assert.True(schedule.IntendedStart(count - 1) < schedule.WindowEnd);
        Assert.True(schedule.IntendedStart(count) >= schedule.WindowEnd);
    }

    [Fact]
    public async Task Every_order_is_dispatched_at_its_intended_start_although_no_order_is_ever_answered()
    {
        var time = new SteppedTime();
        var clock = new RunClock(time);
        var schedule = new ArrivalSchedule(rate: 100, warmup: TimeSpan.Zero, measured: TimeSpan.FromSeconds(0.5));
        var dispatched = new ConcurrentQueue<(ScheduledOrder Order, TimeSpan At)>();
        var answers = new List<Task>();
        var never = new TaskCompletionSource();

        var run = OpenLoopScheduler.RunAsync(
            schedule,
            clock,
            order =>
            {
                dispatched.Enqueue((order, clock.Elapsed));
                answers.Add(never.Task); // what a response that never comes looks like to the scheduler
            },
            CancellationToken.None);

        for (var n = 1; n < schedule.Count; n++)
        {
            var due = await time.NextTimerAsync($"the wait before order {n}");
            Assert.Equal(n, dispatched.Count);
            Assert.Equal(schedule.IntendedStart(n) - clock.Elapsed, due);
            time.Advance(due);
        }

        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(50, dispatched.Count);
        Assert.All(answers, a => Assert.False(a.IsCompleted));
        Assert.All(dispatched.Select((d, i) => (d, i)), x =>
        {
            Assert.Equal(x.i, x.d.Order.Sequence);
            Assert.Equal(schedule.IntendedStart(x.i), x.d.Order.IntendedStart);
            Assert.Equal(x.d.Order.IntendedStart, x.d.At);
        });
    }

    [Fact]
    public async Task After_a_pause_the_orders_due_meanwhile_go_out_at_once_and_keep_their_intended_starts()
    {
        var time = new SteppedTime();
        var clock = new RunClock(time);
        var schedule = new ArrivalSchedule(rate: 100, warmup: TimeSpan.Zero, measured: TimeSpan.FromSeconds(0.1));
        var dispatched = new ConcurrentQueue<(ScheduledOrder Order, TimeSpan At)>();

        var run = OpenLoopScheduler.RunAsync(schedule, clock, order => dispatched.Enqueue((order, clock.Elapsed)), CancellationToken.None);

        Assert.Equal(TimeSpan.FromMilliseconds(10), await time.NextTimerAsync("the wait before order 1"));
        // The process stalls for 45 ms (a GC pause, a busy machine): orders 1 to 4 fall due meanwhile.
        time.Advance(TimeSpan.FromMilliseconds(45));
        var wait = await time.NextTimerAsync("the wait before order 5");
        Assert.Equal(TimeSpan.FromMilliseconds(5), wait);

        Assert.Equal(5, dispatched.Count);
        Assert.Equal([0L, 10L, 20L, 30L, 40L], dispatched.Select(d => (long)d.Order.IntendedStart.TotalMilliseconds));
        Assert.Equal([0L, 45L, 45L, 45L, 45L], dispatched.Select(d => (long)d.At.TotalMilliseconds));

        time.Advance(wait);
        await time.DriveAsync(run);
        Assert.Equal(10, dispatched.Count);
        Assert.Equal(TimeSpan.FromMilliseconds(90), dispatched.Last().At);
    }

    [Fact]
    public async Task A_start_that_is_not_a_whole_millisecond_away_is_waited_for_on_a_timer_never_early()
    {
        // 300/s: starts 3.33 ms apart. A timer of whole milliseconds below the wait would wake the loop before the start,
        // with part of a millisecond left that Task.Delay does not wait: the loop would spin on the clock meanwhile.
        var time = new SteppedTime();
        var clock = new RunClock(time);
        var schedule = new ArrivalSchedule(rate: 300, warmup: TimeSpan.Zero, measured: TimeSpan.FromSeconds(0.05));
        var dispatched = new ConcurrentQueue<(ScheduledOrder Order, TimeSpan At)>();
        using var stop = new CancellationTokenSource();

        var run = OpenLoopScheduler.RunAsync(schedule, clock, order => dispatched.Enqueue((order, clock.Elapsed)), stop.Token);
        try
        {
            for (var n = 1; n < schedule.Count; n++)
            {
                var due = await time.NextTimerAsync($"the wait before order {n}");
                Assert.Equal(n, dispatched.Count);
                var left = schedule.IntendedStart(n) - clock.Elapsed;
                Assert.Equal(0, due.Ticks % TimeSpan.TicksPerMillisecond);
                Assert.InRange(due, left, left + TimeSpan.FromMilliseconds(1) - TimeSpan.FromTicks(1));
                time.Advance(due);
            }

            await run.WaitAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(15, dispatched.Count);
        Assert.All(dispatched, d => Assert.InRange(d.At, d.Order.IntendedStart, d.Order.IntendedStart + TimeSpan.FromMilliseconds(1)));
        Assert.Contains(dispatched, d => d.At > d.Order.IntendedStart);
    }

    [Fact]
    public async Task A_dispatch_that_blocks_delays_nothing_but_itself_in_a_load_run()
    {
        // The run hands each order to the thread pool: the scheduler loop is free again at once.
        var time = new SteppedTime();
        var schedule = new ArrivalSchedule(rate: 50, warmup: TimeSpan.Zero, measured: TimeSpan.FromSeconds(0.2));
        var release = new TaskCompletionSource<Orders.OrderResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var driver = new FakeDriver((order, clock) => order.Sequence == 0 ? release.Task : Task.FromResult(FakeDriver.FinishedAfter(order, TimeSpan.FromMilliseconds(5))));

        var run = Runs.LoadRun.RunAsync(schedule, driver, maxInFlight: 100, time, CancellationToken.None);
        for (var n = 1; n < schedule.Count; n++)
        {
            time.Advance(await time.NextTimerAsync($"the wait before order {n}"));
        }

        await driver.StartedAsync(schedule.Count);
        release.SetResult(FakeDriver.FinishedAfter(schedule[0], TimeSpan.FromSeconds(3)));
        var result = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(10, result.Finished);
        Assert.Equal(3000, result.Latency.Max!.Value, 3000 * 0.001);
    }
}
