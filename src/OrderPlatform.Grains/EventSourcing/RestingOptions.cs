namespace OrderPlatform.Grains.EventSourcing;

/// <summary>How long an activation whose aggregate came to rest (a finished saga, order or payment) stays in memory.</summary>
public sealed class RestingOptions
{
    public const string Section = "Grains";

    /// <summary>The default linger: long enough for the reads that follow an order's end (decision record 0025).</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromSeconds(1);

    /// <summary>The longest linger a silo takes: beyond it, finished orders would pile up in memory.</summary>
    public static readonly TimeSpan MaxLinger = TimeSpan.FromHours(1);

    /// <summary>
    /// How long after its aggregate came to rest an activation deactivates. The reads that follow an order's end (a
    /// client waiting with <c>Prefer: wait</c>) come within milliseconds; a later read activates the grain again from
    /// its streams. Short, so that an order's state dies young: it is collected with the garbage of the moment instead
    /// of being promoted to the collector's older generations first.
    /// </summary>
    public TimeSpan RestingLinger { get; set; } = DefaultLinger;
}
