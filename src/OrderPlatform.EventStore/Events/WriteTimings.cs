using OrderPlatform.Metrics;

namespace OrderPlatform.EventStore.Events;

/// <summary>
/// Running totals of how long the requests of a <see cref="StatementGroups{T}"/> took, split in two: waiting, from the
/// request's arrival until its group's statement began (behind running groups, or lingering for company), and writing,
/// the statement and its commit. Both are counted per request, so the two add up to what a caller waited. Sample twice
/// and difference the counts (<see cref="WriteTimingsSnapshot.Since"/>) for the requests in between.
/// </summary>
/// <param name="clock">The clock the durations are measured on.</param>
public sealed class WriteTimings(TimeProvider clock)
{
    private readonly long[] _waits = new long[DurationBuckets.Count];
    private readonly long[] _writes = new long[DurationBuckets.Count];
    private long _groups;
    private long _requests;

    public TimeProvider Clock { get; } = clock;

    /// <summary>Counts one group of <paramref name="requests"/>, whose statement took <paramref name="write"/>.</summary>
    internal void RecordGroup(int requests, TimeSpan write)
    {
        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _requests, requests);
        Interlocked.Add(ref _writes[DurationBuckets.IndexOf(write)], requests);
    }

    /// <summary>Counts one request that waited <paramref name="wait"/> for its group's statement to begin.</summary>
    internal void RecordWait(TimeSpan wait) => Interlocked.Increment(ref _waits[DurationBuckets.IndexOf(wait)]);

    public WriteTimingsSnapshot Snapshot()
    {
        // Read one after another while requests are counted: under load the counts of one snapshot may be a group apart,
        // which a difference over seconds does not notice.
        var requests = Interlocked.Read(ref _requests);
        var groups = Interlocked.Read(ref _groups);
        return new WriteTimingsSnapshot(groups, requests, Copy(_waits), Copy(_writes));

        static long[] Copy(long[] counts) => [.. counts.Select((_, i) => Interlocked.Read(ref counts[i]))];
    }
}

/// <summary>
/// What <see cref="WriteTimings"/> had counted at one moment: groups, requests, and the requests by duration, waiting
/// and writing, in the buckets of <see cref="DurationBuckets"/>.
/// </summary>
public sealed record WriteTimingsSnapshot(long Groups, long Requests, IReadOnlyList<long> Waits, IReadOnlyList<long> Writes)
{
    /// <summary>What was counted after <paramref name="earlier"/>, a snapshot of the same timings.</summary>
    public WriteTimingsSnapshot Since(WriteTimingsSnapshot earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        return new(Groups - earlier.Groups, Requests - earlier.Requests, Minus(Waits, earlier.Waits), Minus(Writes, earlier.Writes));

        static long[] Minus(IReadOnlyList<long> later, IReadOnlyList<long> before) => [.. later.Select((count, i) => count - (i < before.Count ? before[i] : 0))];
    }
}
