namespace OrderPlatform.Domain.Inventory;

/// <summary>Everything that can happen to the stock of one SKU.</summary>
public abstract record StockEvent;

public sealed record StockRestocked(int Quantity) : StockEvent;

/// <summary>
/// <paramref name="ReserveBy"/> (on this and the other per-order events) is the order's deadline for reserving: the
/// time after which its saga no longer reserves. <paramref name="At"/> is when the SKU decided. Events recorded
/// before these were carried have neither.
/// </summary>
public sealed record StockReserved(Guid OrderId, int Quantity, DateTimeOffset? ReserveBy = null, DateTimeOffset? At = null) : StockEvent;

public sealed record StockReservationRejected(Guid OrderId, int Requested, int Available, DateTimeOffset? ReserveBy = null, DateTimeOffset? At = null) : StockEvent;

public sealed record StockReleased(Guid OrderId, int Quantity, DateTimeOffset? ReserveBy = null) : StockEvent;

/// <summary>The reservation became a sale.</summary>
public sealed record StockCommitted(Guid OrderId, int Quantity, DateTimeOffset? ReserveBy = null) : StockEvent;
