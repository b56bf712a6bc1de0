using System.Text.Json;
using OrderPlatform.Metrics;

namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// Running totals of a silo's grouped appends as <c>GET /silo/status</c> reports them (<c>appendTimings</c>): groups,
/// appends, and appends by time waiting for their group's statement to begin and by time in that statement with its
/// commit, in the buckets of <see cref="DurationBuckets"/>.
/// </summary>
internal sealed record AppendCounts(long Groups, long Appends, long[] Waits, long[] Writes)
{
    /// <summary>The counts in a <c>/silo/status</c> answer; null when it has none (a silo of an earlier build) or they are malformed.</summary>
    public static AppendCounts? FromStatus(JsonElement status)
    {
        if (status.ValueKind != JsonValueKind.Object || !status.TryGetProperty("appendTimings", out var timings) || timings.ValueKind != JsonValueKind.Object
            || !timings.TryGetProperty("groups", out var groups) || !Count(groups, out var groupCount)
            || !timings.TryGetProperty("requests", out var requests) || !Count(requests, out var appendCount)
            || Buckets(timings, "waits") is not { } waits || Buckets(timings, "writes") is not { } writes)
        {
            return null;
        }

        return new AppendCounts(groupCount, appendCount, waits, writes);

        static long[]? Buckets(JsonElement timings, string name)
        {
            if (!timings.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array || array.GetArrayLength() != DurationBuckets.Count)
            {
                return null;
            }

            var counts = new long[DurationBuckets.Count];
            var i = 0;
            foreach (var count in array.EnumerateArray())
            {
                if (!Count(count, out counts[i++]))
                {
                    return null;
                }
            }

            return counts;
        }

        static bool Count(JsonElement element, out long count)
        {
            count = 0;
            return element.ValueKind == JsonValueKind.Number && element.TryGetInt64(out count) && count >= 0;
        }
    }

    public AppendCounts Plus(AppendCounts other) =>
        new(Groups + other.Groups, Appends + other.Appends, [.. Waits.Zip(other.Waits, (a, b) => a + b)], [.. Writes.Zip(other.Writes, (a, b) => a + b)]);

    /// <summary>What was counted after <paramref name="earlier"/>; null when a count went down (a silo restarted in between).</summary>
    public AppendCounts? Since(AppendCounts earlier)
    {
        var difference = new AppendCounts(
            Groups - earlier.Groups, Appends - earlier.Appends, [.. Waits.Zip(earlier.Waits, (a, b) => a - b)], [.. Writes.Zip(earlier.Writes, (a, b) => a - b)]);
        return difference.Groups < 0 || difference.Appends < 0 || difference.Waits.Any(c => c < 0) || difference.Writes.Any(c => c < 0) ? null : difference;
    }
}

/// <summary>
/// The silos' grouped appends in a run's measured window: how many, in how many groups (statements, each one
/// transaction), and where an append's time went, waiting for its group's statement to begin (behind running groups)
/// and in the statement with its commit, in milliseconds, as the upper bounds of <see cref="DurationBuckets"/> (at
/// most 19% above the true value).
/// </summary>
internal sealed record AppendTimings(
    long Appends,
    long Groups,
    double? AppendsPerGroup,
    double? WaitP50Ms,
    double? WaitP90Ms,
    double? WaitP99Ms,
    double? WriteP50Ms,
    double? WriteP90Ms,
    double? WriteP99Ms)
{
    public static AppendTimings Of(AppendCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return new AppendTimings(
            counts.Appends,
            counts.Groups,
            counts.Groups > 0 ? Math.Round((double)counts.Appends / counts.Groups, 2) : null,
            Ms(counts.Waits, 0.50),
            Ms(counts.Waits, 0.90),
            Ms(counts.Waits, 0.99),
            Ms(counts.Writes, 0.50),
            Ms(counts.Writes, 0.90),
            Ms(counts.Writes, 0.99));

        static double? Ms(long[] buckets, double quantile) => DurationBuckets.Quantile(buckets, quantile) is { } ms ? Math.Round(ms, 3) : null;
    }
}
