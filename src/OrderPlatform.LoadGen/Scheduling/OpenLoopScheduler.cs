namespace OrderPlatform.LoadGen.Scheduling;

/// <summary>
/// Hands each order of a schedule to <c>dispatch</c> once its intended start has come, and never waits for an
/// order to finish: a slow or stuck order cannot delay the next one. When the scheduler itself falls behind (a
/// pause of the process, a coarse timer), it dispatches every order that is due at once; the orders keep their
/// intended start times, so the lag shows in their latency instead of disappearing.
/// </summary>
internal static class OpenLoopScheduler
{
    /// <summary>Runs the schedule; <c>dispatch</c> is called on the scheduler's own loop and must only start the order's work.</summary>
    public static async Task RunAsync(ArrivalSchedule schedule, RunClock clock, Action<ScheduledOrder> dispatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(dispatch);

        for (long next = 0; next < schedule.Count;)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = clock.Elapsed;
            while (next < schedule.Count && schedule.IntendedStart(next) <= now)
            {
                dispatch(schedule[next]);
                next++;
            }

            // Dispatching took time: measure again, or the wait would overshoot the next order's start.
            var wait = next < schedule.Count ? schedule.IntendedStart(next) - clock.Elapsed : TimeSpan.Zero;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(WholeMilliseconds(wait), clock.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// A wait rounded up to whole milliseconds. Task.Delay counts whole milliseconds and drops the rest, so a timer woke
    /// the loop just before an order's start and the part of a millisecond left ended at once, again and again: the loop
    /// spun on the clock until the start came. An order now goes out up to a millisecond late, never early, and its
    /// latency, measured from the intended start, shows that.
    /// </summary>
    private static TimeSpan WholeMilliseconds(TimeSpan wait) => TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds));
}
