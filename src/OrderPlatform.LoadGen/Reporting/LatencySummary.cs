using HdrHistogram;

namespace OrderPlatform.LoadGen.Reporting;

/// <summary>Percentiles of a latency histogram, in milliseconds (the histogram records microseconds).</summary>
internal sealed record LatencySummary(long Count, double? P50, double? P90, double? P99, double? P999, double? Max, double? Mean)
{
    /// <summary>Up to an hour, with three significant digits: a latency is off by at most 0.1 %.</summary>
    public static LongHistogram NewHistogram() => new(HighestMicroseconds, 3);

    public const long HighestMicroseconds = 3_600_000_000;

    /// <summary>A latency in whole microseconds, clamped to what the histogram can hold.</summary>
    public static long Microseconds(TimeSpan latency) => Math.Clamp(latency.Ticks / TimeSpan.TicksPerMicrosecond, 0, HighestMicroseconds);

    public static LatencySummary From(HistogramBase histogram)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        if (histogram.TotalCount == 0)
        {
            return new LatencySummary(0, null, null, null, null, null, null);
        }

        double Ms(long microseconds) => Math.Round(microseconds / 1000.0, 3);
        return new LatencySummary(
            histogram.TotalCount,
            Ms(histogram.GetValueAtPercentile(50)),
            Ms(histogram.GetValueAtPercentile(90)),
            Ms(histogram.GetValueAtPercentile(99)),
            Ms(histogram.GetValueAtPercentile(99.9)),
            Ms(histogram.GetMaxValue()),
            Math.Round(histogram.GetMean() / 1000.0, 3));
    }
}
