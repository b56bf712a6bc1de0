using System.Text.Json;

namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// A silo's garbage collector since it started, as <c>GET /silo/status</c> reports it: bytes allocated
/// (<c>gcAllocatedBytes</c>), time paused (<c>gcPauseSeconds</c>) and collections by generation. Sampled at both ends
/// of a window and differenced: what an order costs in allocations, and how much of the window the collector stopped
/// the silo.
/// </summary>
internal sealed record GcCounts(long AllocatedBytes, double PauseSeconds, long Gen0, long Gen1, long Gen2)
{
    /// <summary>The counts of a <c>/silo/status</c> answer; null when it has none (a silo of an earlier build) or they are malformed.</summary>
    public static GcCounts? FromStatus(JsonElement status) =>
        status.ValueKind == JsonValueKind.Object
        && Count(status, "gcAllocatedBytes") is { } allocated
        && status.TryGetProperty("gcPauseSeconds", out var pause) && pause.ValueKind == JsonValueKind.Number && pause.TryGetDouble(out var seconds) && seconds >= 0
        && Count(status, "gen0Collections") is { } gen0 && Count(status, "gen1Collections") is { } gen1 && Count(status, "gen2Collections") is { } gen2
            ? new GcCounts(allocated, seconds, gen0, gen1, gen2)
            : null;

    public GcCounts Plus(GcCounts other) =>
        new(AllocatedBytes + other.AllocatedBytes, PauseSeconds + other.PauseSeconds, Gen0 + other.Gen0, Gen1 + other.Gen1, Gen2 + other.Gen2);

    /// <summary>What was counted after <paramref name="earlier"/>; null when a count went down (a silo restarted in between).</summary>
    public GcCounts? Since(GcCounts earlier)
    {
        var difference = new GcCounts(
            AllocatedBytes - earlier.AllocatedBytes, PauseSeconds - earlier.PauseSeconds, Gen0 - earlier.Gen0, Gen1 - earlier.Gen1, Gen2 - earlier.Gen2);
        return difference is { AllocatedBytes: >= 0, PauseSeconds: >= 0, Gen0: >= 0, Gen1: >= 0, Gen2: >= 0 } ? difference : null;
    }

    private static long? Count(JsonElement status, string property) =>
        status.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) && count >= 0
            ? count
            : null;
}

/// <summary>
/// The silos' garbage collector in a run's measured window: KiB allocated per saga finished in it, the share of the
/// window it paused the silos (percent; summed over silos, so above 100 only with several), and collections by generation.
/// </summary>
internal sealed record GcSummary(long AllocatedBytes, double? AllocatedKbPerSaga, double PausedPercent, long Gen0, long Gen1, long Gen2)
{
    public static GcSummary Of(GcCounts counts, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(counts);
        return new GcSummary(
            counts.AllocatedBytes, null, window > TimeSpan.Zero ? Math.Round(counts.PauseSeconds / window.TotalSeconds * 100, 2) : 0,
            counts.Gen0, counts.Gen1, counts.Gen2);
    }
}
