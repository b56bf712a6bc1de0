using System.Text.Json;
using OrderPlatform.Metrics;

namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// Running totals of a silo's grouped writes of one kind as <c>GET /silo/status</c> reports them (<c>appendTimings</c>
/// for the event store's appends, <c>providerAnswerTimings</c> for the payment simulator's answers): groups, requests,
/// and requests by time waiting for their group's statement to begin and by time in that statement with its commit,
/// in the buckets of <see cref="DurationBuckets"/>.
/// </summary>
internal sealed record WriteCounts(long Groups, long Requests, long[] Waits, long[] Writes)
{
    /// <summary>
    /// The counts under <paramref name="property"/> of a <c>/silo/status</c> answer; null when it has none (a silo of an
    /// earlier build) or they are malformed.
    /// </summary>
    public static WriteCounts? FromStatus(JsonElement status, string property)
    {
        if (status.ValueKind != JsonValueKind.Object || !status.TryGetProperty(property, out var timings) || timings.ValueKind != JsonValueKind.Object
            || !timings.TryGetProperty("groups", out var groups) || !Count(groups, out var groupCount)
            || !timings.TryGetProperty("requests", out var requests) || !Count(requests, out var requestCount)
            || Buckets(timings, "waits") is not { } waits || Buckets(timings, "writes") is not { } writes)
        {
            return null;
        }

        return new WriteCounts(groupCount, requestCount, waits, writes);

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

    public WriteCounts Plus(WriteCounts other) =>
        new(Groups + other.Groups, Requests + other.Requests, [.. Waits.Zip(other.Waits, (a, b) => a + b)], [.. Writes.Zip(other.Writes, (a, b) => a + b)]);

    /// <summary>What was counted after <paramref name="earlier"/>; null when a count went down (a silo restarted in between).</summary>
    public WriteCounts? Since(WriteCounts earlier)
    {
        var difference = new WriteCounts(
            Groups - earlier.Groups, Requests - earlier.Requests, [.. Waits.Zip(earlier.Waits, (a, b) => a - b)], [.. Writes.Zip(earlier.Writes, (a, b) => a - b)]);
        return difference.Groups < 0 || difference.Requests < 0 || difference.Waits.Any(c => c < 0) || difference.Writes.Any(c => c < 0) ? null : difference;
    }
}

/// <summary>
/// The silos' grouped writes of one kind in a run's measured window: how many, in how many groups (statements, each
/// one transaction), and where a write's time went, waiting for its group's statement to begin (behind running groups)
/// and in the statement with its commit, in milliseconds, as the upper bounds of <see cref="DurationBuckets"/> (at
/// most 19% above the true value).
/// </summary>
internal sealed record WriteTimingSummary(
    long Requests,
    long Groups,
    double? RequestsPerGroup,
    double? WaitP50Ms,
    double? WaitP90Ms,
    double? WaitP99Ms,
    double? WriteP50Ms,
    double? WriteP90Ms,
    double? WriteP99Ms)
{
    public static WriteTimingSummary Of(WriteCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return new WriteTimingSummary(
            counts.Requests,
            counts.Groups,
            counts.Groups > 0 ? Math.Round((double)counts.Requests / counts.Groups, 2) : null,
            Ms(counts.Waits, 0.50),
            Ms(counts.Waits, 0.90),
            Ms(counts.Waits, 0.99),
            Ms(counts.Writes, 0.50),
            Ms(counts.Writes, 0.90),
            Ms(counts.Writes, 0.99));

        static double? Ms(long[] buckets, double quantile) => DurationBuckets.Quantile(buckets, quantile) is { } ms ? Math.Round(ms, 3) : null;
    }
}
