using Microsoft.Extensions.Time.Testing;
using OrderPlatform.EventStore.Events;
using OrderPlatform.Metrics;

namespace OrderPlatform.IntegrationTests;

/// <summary>How grouped writes are timed: each request's wait for its group's statement and the statement's own time, in buckets.</summary>
public sealed class WriteTimingsTests
{
    private sealed class Request : IGroupedRequest
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Done.TrySetException(exception);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(250)]
    [InlineData(1_000)]
    [InlineData(4_321.5)]
    [InlineData(2_000_000)]
    [InlineData(30_000_000)]
    public void A_duration_falls_in_the_bucket_whose_bounds_hold_it_within_a_fifth(double microseconds)
    {
        var duration = TimeSpan.FromTicks((long)(microseconds * 10));
        var index = DurationBuckets.IndexOf(duration);
        var upper = DurationBuckets.UpperBoundMilliseconds(index);
        var ms = duration.TotalMilliseconds;

        Assert.InRange(index, 0, DurationBuckets.Count - 2);
        Assert.True(upper > ms, $"{ms} ms in bucket {index}, under {upper} ms");
        Assert.True(upper <= Math.Max(ms, 0.001) * 1.19 + 1e-9, $"{ms} ms in bucket {index}, under {upper} ms");
        Assert.True(index == 0 || DurationBuckets.UpperBoundMilliseconds(index - 1) <= ms, $"{ms} ms belongs below bucket {index}");
    }

    [Fact]
    public void Durations_past_the_last_bound_and_below_zero_are_counted_at_the_ends()
    {
        Assert.Equal(DurationBuckets.Count - 1, DurationBuckets.IndexOf(TimeSpan.FromHours(2)));
        Assert.Equal(0, DurationBuckets.IndexOf(TimeSpan.FromTicks(-5)));
        Assert.Equal(0, DurationBuckets.IndexOf(TimeSpan.Zero));
    }

    [Fact]
    public void A_quantile_is_the_upper_bound_of_the_bucket_it_falls_in_and_nothing_counted_has_none()
    {
        var counts = new long[DurationBuckets.Count];
        var fast = DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(1));
        var slow = DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(100));
        counts[fast] = 99;
        counts[slow] = 1;

        Assert.Equal(DurationBuckets.UpperBoundMilliseconds(fast), DurationBuckets.Quantile(counts, 0.5));
        Assert.Equal(DurationBuckets.UpperBoundMilliseconds(fast), DurationBuckets.Quantile(counts, 0.99));
        Assert.Equal(DurationBuckets.UpperBoundMilliseconds(slow), DurationBuckets.Quantile(counts, 0.999));
        Assert.Equal(DurationBuckets.UpperBoundMilliseconds(fast), DurationBuckets.Quantile(counts, 0));
        Assert.Null(DurationBuckets.Quantile(new long[DurationBuckets.Count], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => DurationBuckets.Quantile(counts, 1.5));
    }

    [Fact]
    public async Task Each_request_counts_its_wait_behind_the_running_group_and_its_own_groups_statement()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-04T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var timings = new WriteTimings(time);
        var firstStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holdFirst = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = 0;
        var groups = new StatementGroups<Request>(async group =>
        {
            if (Interlocked.Increment(ref calls) == 1)
            {
                firstStarted.SetResult();
                await holdFirst.Task;
            }

            foreach (var request in group)
            {
                request.Done.SetResult();
            }
        }, maxRunning: 1, maxPerGroup: 10, timings: timings);

        // The first request's group starts at once and its statement takes 5 ms; two requests arrive 2 ms into it and
        // wait 3 ms for their own group, whose statement takes no time on this clock.
        var first = new Request();
        groups.Add(first);
        await firstStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromMilliseconds(2));
        var behind = new[] { new Request(), new Request() };
        foreach (var request in behind)
        {
            groups.Add(request);
        }

        time.Advance(TimeSpan.FromMilliseconds(3));
        holdFirst.SetResult();
        await Task.WhenAll(behind.Select(r => r.Done.Task).Append(first.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));
        var counted = await CountedAsync(timings, t => t.Groups >= 2);

        Assert.Equal(3, counted.Requests);
        Assert.Equal(1, counted.Waits[DurationBuckets.IndexOf(TimeSpan.Zero)]);
        Assert.Equal(2, counted.Waits[DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(3))]);
        Assert.Equal(1, counted.Writes[DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(5))]);
        Assert.Equal(2, counted.Writes[DurationBuckets.IndexOf(TimeSpan.Zero)]);
        Assert.Equal(3, counted.Waits.Sum());
        Assert.Equal(3, counted.Writes.Sum());
        Assert.InRange(DurationBuckets.Quantile(counted.Waits, 0.5) ?? 0, 3, 3 * 1.19);

        // A later group alone: the difference of two snapshots holds it and nothing before it.
        var later = new Request();
        groups.Add(later);
        await later.Done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var since = (await CountedAsync(timings, t => t.Groups >= 3)).Since(counted);
        Assert.Equal(1, since.Groups);
        Assert.Equal(1, since.Requests);
        Assert.Equal(1, since.Waits.Sum());
        Assert.Equal(1, since.Writes[DurationBuckets.IndexOf(TimeSpan.Zero)]);
    }

    /// <summary>
    /// The timings once <paramref name="counted"/> holds of them, or after 10 s as they are then: a group is counted just
    /// after its statement, so its requests are settled a moment before they are counted.
    /// </summary>
    internal static async Task<WriteTimingsSnapshot> CountedAsync(WriteTimings timings, Func<WriteTimingsSnapshot, bool> counted)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var snapshot = timings.Snapshot();
            if (counted(snapshot) || DateTime.UtcNow > deadline)
            {
                return snapshot;
            }

            await Task.Delay(10);
        }
    }
}
