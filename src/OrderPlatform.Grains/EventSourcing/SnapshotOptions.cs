namespace OrderPlatform.Grains.EventSourcing;

/// <summary>How often a grain whose stream grows without end (a SKU's stock) saves a snapshot of its state (decision record 0028).</summary>
public sealed class SnapshotOptions
{
    public const string Section = "Grains";

    /// <summary>
    /// About a minute of a popular SKU's events at 100 orders a second; its state then (a few minutes of closed orders)
    /// is a few MB of JSON.
    /// </summary>
    public const int DefaultEvery = 10_000;

    public const int MaxEvery = 10_000_000;

    /// <summary>Events between snapshots of such a stream; 0 for none (a reactivation then replays the whole stream).</summary>
    public int SnapshotEvery { get; set; } = DefaultEvery;
}
