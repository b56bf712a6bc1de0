namespace OrderPlatform.Domain.Orders;

public sealed record OrderLine(string Sku, int Quantity, decimal UnitPrice);

/// <summary>Everything that can happen to an order. Past tense, immutable, closed.</summary>
public abstract record OrderEvent;

public sealed record OrderPlaced(
    Guid OrderId,
    string CustomerId,
    IReadOnlyList<OrderLine> Lines,
    Money Total,
    DateTimeOffset PlacedAt) : OrderEvent;

public sealed record OrderConfirmed(DateTimeOffset ConfirmedAt) : OrderEvent;

public sealed record OrderRejected(string Reason, DateTimeOffset RejectedAt) : OrderEvent;

public sealed record OrderCancelled(string Reason, DateTimeOffset CancelledAt) : OrderEvent;

public sealed record OrderCompleted(DateTimeOffset CompletedAt) : OrderEvent;
