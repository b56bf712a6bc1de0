using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Scheduling;

namespace OrderPlatform.LoadGen.Runs;

/// <summary>One run at one rate: the open-loop schedule, every order handed to the driver on its own task, then the summary.</summary>
internal static class LoadRun
{
    public static async Task<RunResult> RunAsync(ArrivalSchedule schedule, IOrderDriver driver, int maxInFlight, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(driver);
        var recorder = new RunRecorder(schedule, maxInFlight);
        var clock = new RunClock(time);
        var orders = new List<Task>(checked((int)Math.Min(schedule.Count, int.MaxValue)));

        await OpenLoopScheduler.RunAsync(
            schedule,
            clock,
            order =>
            {
                if (recorder.TryStart(order))
                {
                    // On the thread pool: not even the synchronous start of a request may hold up the schedule.
                    orders.Add(Task.Run(() => RunOrderAsync(order), CancellationToken.None));
                }
            },
            cancellationToken).ConfigureAwait(false);

        await Task.WhenAll(orders).ConfigureAwait(false);
        return recorder.Summarize();

        async Task RunOrderAsync(ScheduledOrder order)
        {
            var result = await driver.RunAsync(order, clock, cancellationToken).ConfigureAwait(false);
            recorder.Finish(order, result);
        }
    }
}
