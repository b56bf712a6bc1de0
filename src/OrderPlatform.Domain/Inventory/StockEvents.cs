namespace OrderPlatform.Domain.Inventory;

/// <summary>Everything that can happen to the stock of one SKU.</summary>
public abstract record StockEvent;

public sealed record StockRestocked(int Quantity) : StockEvent;

public sealed record StockReserved(Guid OrderId, int Quantity) : StockEvent;

public sealed record StockReservationRejected(Guid OrderId, int Requested, int Available) : StockEvent;

public sealed record StockReleased(Guid OrderId, int Quantity) : StockEvent;

/// <summary>The reservation became a sale.</summary>
public sealed record StockCommitted(Guid OrderId, int Quantity) : StockEvent;
