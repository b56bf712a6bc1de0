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

/// <summary>How an order's reservation ended, and its deadline for reserving (none on events recorded before deadlines were carried).</summary>
public readonly record struct ClosedReservation(ReservationStatus Status, DateTimeOffset? ReserveBy);

/// <summary>
/// Stock of one SKU. On hand = available + reserved + sold, and available never goes below zero:
/// a reservation is only recorded when the quantity is available at the moment of the decision,
/// which is safe because one grain activation owns the stream and the store rejects stale writers.
/// <para>
/// A SKU sees every order for it, so what it remembers of closed orders is bounded in time, not kept forever: each
/// order's commands carry its deadline for reserving, and an order is forgotten once a later reservation decision was
/// <see cref="ForgetClosedAfter"/> past that deadline by two clocks, the SKU's and the later order's saga's (the
/// earlier of its decision time and the later order's deadline), so one silo with a clock running ahead cannot make a
/// SKU forget orders early. Reservations due by the horizon (<see cref="ForgottenThrough"/>) are refused. What is
/// forgotten follows from the events alone, so a replay forgets the same orders.
/// </para>
/// </summary>
public sealed record Stock
{
    public const int MaxRestockQuantity = 1_000_000;

    /// <summary>
    /// How long after an order's deadline for reserving it is forgotten: the tolerance for clocks that disagree between
    /// silos, and for a reservation still on its way.
    /// </summary>
    public static readonly TimeSpan ForgetClosedAfter = TimeSpan.FromMinutes(5);

    /// <summary>Closed orders are swept (in <see cref="Apply"/>) when there are this many, or twice as many as the last sweep kept.</summary>
    public const int SweepFloor = 1024;

    public static readonly Stock Initial = new();

    public int OnHand { get; init; }

    public int Sold { get; init; }

    public ImmutableDictionary<Guid, int> Reservations { get; init; } = ImmutableDictionary<Guid, int>.Empty;

    /// <summary>Orders whose reservation was refused, released or sold: late reservation requests for them are no-ops.</summary>
    public ImmutableDictionary<Guid, ClosedReservation> Closed { get; init; } = ImmutableDictionary<Guid, ClosedReservation>.Empty;

    /// <summary>Closed orders whose deadline for reserving is at or before this are forgotten, and reservations due by then refused.</summary>
    public DateTimeOffset ForgottenThrough { get; init; } = DateTimeOffset.MinValue;

    /// <summary>The number of closed orders at which the next sweep happens.</summary>
    public int NextSweepAt { get; init; } = SweepFloor;

    public int Reserved { get; init; }

    public int Available => OnHand - Reserved - Sold;

    public Stock Apply(StockEvent @event) => @event switch
    {
        StockRestocked e => this with { OnHand = OnHand + e.Quantity },
        StockReserved e => this with
        {
            Reservations = Reservations.SetItem(e.OrderId, e.Quantity),
            Reserved = Reserved + e.Quantity,
            ForgottenThrough = HorizonAfter(e.ReserveBy, e.At),
        },
        StockReservationRejected e => (this with { ForgottenThrough = HorizonAfter(e.ReserveBy, e.At) }).Closing(e.OrderId, ReservationStatus.Rejected, e.ReserveBy),
        StockReleased e => (this with { Reservations = Reservations.Remove(e.OrderId), Reserved = Reserved - e.Quantity })
            .Closing(e.OrderId, ReservationStatus.Released, e.ReserveBy),
        StockCommitted e => (this with { Reservations = Reservations.Remove(e.OrderId), Reserved = Reserved - e.Quantity, Sold = Sold + e.Quantity })
            .Closing(e.OrderId, ReservationStatus.Committed, e.ReserveBy),
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown stock event."),
    };

    private Stock Closing(Guid orderId, ReservationStatus status, DateTimeOffset? reserveBy) =>
        (this with { Closed = Closed.SetItem(orderId, new ClosedReservation(status, reserveBy)) }).Swept();

    /// <summary>
    /// The horizon after a reservation decided <paramref name="at"/> for an order due at <paramref name="reserveBy"/>: up to
    /// <see cref="ForgetClosedAfter"/> before the earlier of the two, never back.
    /// </summary>
    private DateTimeOffset HorizonAfter(DateTimeOffset? reserveBy, DateTimeOffset? at)
    {
        if (reserveBy is not { } due || at is not { } decided)
        {
            return ForgottenThrough;
        }

        var witnessed = due < decided ? due : decided;
        return witnessed > DateTimeOffset.MinValue + ForgetClosedAfter && witnessed - ForgetClosedAfter > ForgottenThrough
            ? witnessed - ForgetClosedAfter
            : ForgottenThrough;
    }

    /// <summary>Drops the closed orders due at or before the horizon, once there are <see cref="NextSweepAt"/> of them (amortized: each sweep at least doubles the next one's count).</summary>
    private Stock Swept()
    {
        if (Closed.Count < NextSweepAt)
        {
            return this;
        }

        var kept = Closed.ToBuilder();
        foreach (var (orderId, closed) in Closed)
        {
            if (closed.ReserveBy is { } due && due <= ForgottenThrough)
            {
                kept.Remove(orderId);
            }
        }

        return this with { Closed = kept.ToImmutable(), NextSweepAt = Math.Max(SweepFloor, 2 * kept.Count) };
    }

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

    /// <summary>
    /// Reserves, <paramref name="now"/>, for an order whose saga reserves until <paramref name="reserveBy"/>; without
    /// one (a saga on a silo of a build before deadlines, during a rolling upgrade) as before: the order is never forgotten.
    /// </summary>
    public IReadOnlyList<StockEvent> Reserve(Guid orderId, int quantity, DateTimeOffset? reserveBy, DateTimeOffset now)
    {
        if (quantity <= 0)
        {
            throw new DomainException("Reservation quantity must be positive.");
        }

        if (Reservations.ContainsKey(orderId) || Closed.ContainsKey(orderId))
        {
            return [];
        }

        if (reserveBy is { } due && due <= ForgottenThrough)
        {
            // The order may have been closed here and forgotten: reserving now could hold stock for a finished order.
            throw new DomainException(
                $"Order {orderId} had to reserve by {due:O}; this SKU no longer takes reservations due by {ForgottenThrough:O}.");
        }

        return quantity > Available
            ? [new StockReservationRejected(orderId, quantity, Available, reserveBy, now)]
            : [new StockReserved(orderId, quantity, reserveBy, now)];
    }

    /// <summary>What a reservation request for this order amounts to now (used for first and repeated requests alike).</summary>
    public ReservationOutcome ReservationOf(Guid orderId) =>
        Reservations.TryGetValue(orderId, out var quantity)
            ? new ReservationOutcome(ReservationStatus.Reserved, quantity, Available)
            : new ReservationOutcome(Closed.TryGetValue(orderId, out var closed) ? closed.Status : ReservationStatus.Released, 0, Available);

    /// <summary>
    /// Releasing an order that holds nothing still records a zero release, so a reservation request that
    /// arrives late (from a stale activation of the saga) is refused instead of leaking stock. An order already
    /// forgotten holds nothing and can reserve nothing: releasing it records nothing.
    /// </summary>
    public IReadOnlyList<StockEvent> Release(Guid orderId, DateTimeOffset? reserveBy)
    {
        if (Reservations.TryGetValue(orderId, out var quantity))
        {
            return [new StockReleased(orderId, quantity, reserveBy)];
        }

        if (Closed.TryGetValue(orderId, out var closed))
        {
            return closed.Status == ReservationStatus.Committed
                ? throw new InvalidTransitionException($"Order {orderId} already bought its stock; it cannot be released.")
                : [];
        }

        return reserveBy <= ForgottenThrough ? [] : [new StockReleased(orderId, 0, reserveBy)];
    }

    /// <summary>
    /// Sells an order's reservation. A repeated commit is a no-op, also once the order is forgotten: an order only
    /// commits after it reserved, and a reservation still held is never forgotten, so it was closed here.
    /// </summary>
    public IReadOnlyList<StockEvent> Commit(Guid orderId, DateTimeOffset? reserveBy)
    {
        if (Reservations.TryGetValue(orderId, out var quantity))
        {
            return [new StockCommitted(orderId, quantity, reserveBy)];
        }

        if ((Closed.TryGetValue(orderId, out var closed) && closed.Status == ReservationStatus.Committed)
            || (!Closed.ContainsKey(orderId) && reserveBy <= ForgottenThrough))
        {
            return [];
        }

        throw new InvalidTransitionException($"Order {orderId} holds no reservation to commit.");
    }
}
