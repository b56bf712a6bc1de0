using System.Collections.Immutable;

namespace OrderPlatform.Domain.Inventory;

public enum ReservationStatus
{
    Reserved,
    Rejected,
    Released,
    Committed,
}

public sealed record ReservationOutcome(ReservationStatus Status, int Quantity, int Available);

/// <summary>
/// Stock of one SKU. On hand = available + reserved + sold, and available never goes below zero:
/// a reservation is only recorded when the quantity is available at the moment of the decision,
/// which is safe because one grain activation owns the stream and the store rejects stale writers.
/// </summary>
public sealed record Stock
{
    public const int MaxRestockQuantity = 1_000_000;

    public static readonly Stock Initial = new();

    public int OnHand { get; init; }

    public int Sold { get; init; }

    public ImmutableDictionary<Guid, int> Reservations { get; init; } = ImmutableDictionary<Guid, int>.Empty;

    /// <summary>Orders whose reservation was refused, released or sold: late reservation requests for them are no-ops.</summary>
    public ImmutableDictionary<Guid, ReservationStatus> Closed { get; init; } = ImmutableDictionary<Guid, ReservationStatus>.Empty;

    public int Reserved { get; init; }

    public int Available => OnHand - Reserved - Sold;

    public Stock Apply(StockEvent @event) => @event switch
    {
        StockRestocked e => this with { OnHand = OnHand + e.Quantity },
        StockReserved e => this with { Reservations = Reservations.SetItem(e.OrderId, e.Quantity), Reserved = Reserved + e.Quantity },
        StockReservationRejected e => this with { Closed = Closed.SetItem(e.OrderId, ReservationStatus.Rejected) },
        StockReleased e => this with { Reservations = Reservations.Remove(e.OrderId), Reserved = Reserved - e.Quantity, Closed = Closed.SetItem(e.OrderId, ReservationStatus.Released) },
        StockCommitted e => this with
        {
            Reservations = Reservations.Remove(e.OrderId),
            Reserved = Reserved - e.Quantity,
            Sold = Sold + e.Quantity,
            Closed = Closed.SetItem(e.OrderId, ReservationStatus.Committed),
        },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown stock event."),
    };

    public IReadOnlyList<StockEvent> Restock(int quantity)
    {
        if (quantity is <= 0 or > MaxRestockQuantity)
        {
            throw new DomainException($"Restock quantity must be between 1 and {MaxRestockQuantity}.");
        }

        if ((long)OnHand + quantity > int.MaxValue)
        {
            throw new DomainException("Restocking would overflow the stock counter.");
        }

        return [new StockRestocked(quantity)];
    }

    public IReadOnlyList<StockEvent> Reserve(Guid orderId, int quantity)
    {
        if (quantity <= 0)
        {
            throw new DomainException("Reservation quantity must be positive.");
        }

        if (Reservations.ContainsKey(orderId) || Closed.ContainsKey(orderId))
        {
            return [];
        }

        return quantity > Available
            ? [new StockReservationRejected(orderId, quantity, Available)]
            : [new StockReserved(orderId, quantity)];
    }

    /// <summary>What a reservation request for this order amounts to now (used for first and repeated requests alike).</summary>
    public ReservationOutcome ReservationOf(Guid orderId) =>
        Reservations.TryGetValue(orderId, out var quantity)
            ? new ReservationOutcome(ReservationStatus.Reserved, quantity, Available)
            : new ReservationOutcome(Closed.TryGetValue(orderId, out var closed) ? closed : ReservationStatus.Released, 0, Available);

    /// <summary>
    /// Releasing an order that holds nothing still records a zero release, so a reservation request that
    /// arrives late (from a stale activation of the saga) is refused instead of leaking stock.
    /// </summary>
    public IReadOnlyList<StockEvent> Release(Guid orderId)
    {
        if (Reservations.TryGetValue(orderId, out var quantity))
        {
            return [new StockReleased(orderId, quantity)];
        }

        if (Closed.TryGetValue(orderId, out var status))
        {
            return status == ReservationStatus.Committed
                ? throw new InvalidTransitionException($"Order {orderId} already bought its stock; it cannot be released.")
                : [];
        }

        return [new StockReleased(orderId, 0)];
    }

    public IReadOnlyList<StockEvent> Commit(Guid orderId)
    {
        if (Reservations.TryGetValue(orderId, out var quantity))
        {
            return [new StockCommitted(orderId, quantity)];
        }

        if (Closed.TryGetValue(orderId, out var status) && status == ReservationStatus.Committed)
        {
            return [];
        }

        throw new InvalidTransitionException($"Order {orderId} holds no reservation to commit.");
    }
}
