namespace OrderPlatform.Metrics;

/// <summary>
/// Durations counted in buckets four to the octave: bucket i holds those under 2^((i + 1) / 4) microseconds (the
/// first, everything under 1.19 µs), the last everything from about 56 s up. A percentile read off the buckets is
/// the upper bound of the bucket it falls in: at most 19% above the true value. Compiled into each project that
/// counts or reads such buckets (a linked source file): the event store, which counts, and the load generator, which
/// reads them from the silos' status.
/// </summary>
internal static class DurationBuckets
{
    public const int PerOctave = 4;

    public const int Count = 26 * PerOctave;

    /// <summary>The bucket a duration falls in.</summary>
    public static int IndexOf(TimeSpan duration)
    {
        var microseconds = duration.Ticks / 10.0;
        if (microseconds < 1)
        {
            return 0;
        }

        var index = (int)Math.Floor(Math.Log2(microseconds) * PerOctave);
        return Math.Clamp(index, 0, Count - 1);
    }

    /// <summary>The upper bound of bucket <paramref name="index"/> in milliseconds (the last bucket has none; its lower bound is given).</summary>
    public static double UpperBoundMilliseconds(int index) =>
        Math.Pow(2, (double)Math.Min(index + 1, Count - 1) / PerOctave) / 1000;

    /// <summary>
    /// The <paramref name="quantile"/> (0 to 1) of the durations counted in <paramref name="counts"/>, as the upper bound of
    /// the bucket it falls in, in milliseconds; null when nothing was counted.
    /// </summary>
    public static double? Quantile(IReadOnlyList<long> counts, double quantile)
    {
        ArgumentNullException.ThrowIfNull(counts);
        ArgumentOutOfRangeException.ThrowIfLessThan(quantile, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(quantile, 1);
        var total = counts.Sum();
        if (total <= 0)
        {
            return null;
        }

        // The rank of the value sought, 1-based: the smallest value whose share of the counts is at least the quantile.
        var rank = Math.Max(1, (long)Math.Ceiling(quantile * total));
        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return UpperBoundMilliseconds(i);
            }
        }

        return UpperBoundMilliseconds(counts.Count - 1);
    }
}
