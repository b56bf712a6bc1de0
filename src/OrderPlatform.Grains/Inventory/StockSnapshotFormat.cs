using System.Collections.Immutable;
using System.Text.Json;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Grains.Inventory;

/// <summary>
/// A SKU's stock as its snapshot stores it (decision record 0028): every field of <see cref="Stock"/>, by name. A change
/// of <see cref="Stock"/>'s fields needs a new <see cref="SchemaVersion"/>, so that silos pass over snapshots they would
/// misread and replay the stream instead.
/// </summary>
public static class StockSnapshotFormat
{
    public const int SchemaVersion = 1;

    public static string Write(Stock stock) => JsonSerializer.Serialize(
        new Snapshot(stock.OnHand, stock.Reserved, stock.Sold, stock.ForgottenThrough, stock.NextSweepAt, stock.Reservations, stock.Closed), EventJson.Options);

    public static Stock Read(string json)
    {
        var snapshot = JsonSerializer.Deserialize<Snapshot>(json, EventJson.Options) ?? throw new JsonException("A stock snapshot is null.");
        return Stock.Initial with
        {
            OnHand = snapshot.OnHand,
            Reserved = snapshot.Reserved,
            Sold = snapshot.Sold,
            ForgottenThrough = snapshot.ForgottenThrough,
            NextSweepAt = snapshot.NextSweepAt,
            Reservations = snapshot.Reservations ?? throw new JsonException("A stock snapshot has no reservations."),
            Closed = snapshot.Closed ?? throw new JsonException("A stock snapshot has no closed orders."),
        };
    }

    private sealed record Snapshot(
        int OnHand,
        int Reserved,
        int Sold,
        DateTimeOffset ForgottenThrough,
        int NextSweepAt,
        ImmutableDictionary<Guid, int>? Reservations,
        ImmutableDictionary<Guid, ClosedReservation>? Closed);
}
