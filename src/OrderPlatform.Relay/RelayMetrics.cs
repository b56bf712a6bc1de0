using System.Diagnostics.Metrics;

namespace OrderPlatform.Relay;

/// <summary>What an operator watches: how much is waiting, how old the oldest is, how fast rows leave.</summary>
public sealed class RelayMetrics : IDisposable
{
    public const string MeterName = "OrderPlatform.Relay";

    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _published;
    private readonly Histogram<double> _lag;
    private BacklogReading _backlog = new(0, false, 0);
    private int _sharesHeld;
    private long _publishedTotal;
    private long _scanFloor;

    public RelayMetrics()
    {
        _published = _meter.CreateCounter<long>("orderplatform.relay.published", "{event}", "Events published and acknowledged by the broker.");
        _lag = _meter.CreateHistogram<double>("orderplatform.relay.publish_lag", "ms", "From the event's commit to the broker's acknowledgement.");
        _meter.CreateObservableGauge("orderplatform.relay.backlog", () => Volatile.Read(ref _backlog).Backlog, "{event}", "Outbox rows not yet published, counted up to Relay:BacklogCountLimit.");
        _meter.CreateObservableGauge("orderplatform.relay.oldest_unpublished_age", () => Volatile.Read(ref _backlog).OldestAgeSeconds, "s", "Age of the oldest unpublished outbox row.");
        _meter.CreateObservableGauge("orderplatform.relay.shares_held", () => Volatile.Read(ref _sharesHeld), "{share}", "Outbox shares this silo publishes.");
    }

    /// <summary>The last backlog reading, its three parts taken together.</summary>
    public BacklogReading Backlog => Volatile.Read(ref _backlog);

    public int SharesHeld => Volatile.Read(ref _sharesHeld);

    public long PublishedTotal => Interlocked.Read(ref _publishedTotal);

    /// <summary>The outbox id this silo's relay last read from (see <see cref="ScanFloor"/>); 0 after a full read.</summary>
    public long ScanFloor => Interlocked.Read(ref _scanFloor);

    public void ScannedFrom(long floor) => Interlocked.Exchange(ref _scanFloor, floor);

    public void Published(int count, IEnumerable<double> lagsMs)
    {
        _published.Add(count);
        Interlocked.Add(ref _publishedTotal, count);
        foreach (var lag in lagsMs)
        {
            _lag.Record(lag);
        }
    }

    public void Observed(long backlog, bool capped, double oldestAgeSeconds) =>
        Volatile.Write(ref _backlog, new BacklogReading(backlog, capped, oldestAgeSeconds));

    public void Holding(int shares) => Volatile.Write(ref _sharesHeld, shares);

    public void Dispose() => _meter.Dispose();
}

/// <summary>
/// Unpublished outbox rows counted up to <see cref="RelayOptions.BacklogCountLimit"/> (<paramref name="Capped"/> when there
/// were more, and <paramref name="Backlog"/> is then the limit), and the age of the oldest in seconds.
/// </summary>
public sealed record BacklogReading(long Backlog, bool Capped, double OldestAgeSeconds);
