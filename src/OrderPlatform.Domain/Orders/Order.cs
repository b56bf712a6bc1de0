namespace OrderPlatform.Domain.Orders;

public enum OrderStatus
{
    None,
    Placed,
    Confirmed,
    Completed,
    Rejected,
    Cancelled,
}

/// <summary>
/// The order aggregate: state folded from its events, and decisions that turn commands into events.
/// Repeating a command that already took effect yields no new events.
/// </summary>
public sealed record Order
{
    public static readonly Order Initial = new();

    public Guid Id { get; init; }

    public OrderStatus Status { get; init; }

    public string CustomerId { get; init; } = "";

    public IReadOnlyList<OrderLine> Lines { get; init; } = [];

    public Money? Total { get; init; }

    public string? Reason { get; init; }

    public Order Apply(OrderEvent @event) => @event switch
    {
        OrderPlaced e => this with { Id = e.OrderId, Status = OrderStatus.Placed, CustomerId = e.CustomerId, Lines = e.Lines, Total = e.Total },
        OrderConfirmed => this with { Status = OrderStatus.Confirmed },
        OrderRejected e => this with { Status = OrderStatus.Rejected, Reason = e.Reason },
        OrderCancelled e => this with { Status = OrderStatus.Cancelled, Reason = e.Reason },
        OrderCompleted => this with { Status = OrderStatus.Completed },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown order event."),
    };

    public IReadOnlyList<OrderEvent> Place(Guid orderId, string customerId, IReadOnlyList<OrderLine> lines, string currency, DateTimeOffset now)
    {
        if (Status != OrderStatus.None)
        {
            return [];
        }

        if (lines.Count == 0)
        {
            throw new DomainException("An order needs at least one line.");
        }

        if (lines.Any(l => l.Quantity <= 0 || l.UnitPrice < 0))
        {
            throw new DomainException("Every line needs a positive quantity and a non-negative unit price.");
        }

        var total = lines.Aggregate(Money.Zero(currency), (sum, line) => sum.Add(new Money(line.UnitPrice, currency).Multiply(line.Quantity)));
        return [new OrderPlaced(orderId, customerId, lines, total, now)];
    }

    public IReadOnlyList<OrderEvent> Confirm(DateTimeOffset now) => Status switch
    {
        OrderStatus.Placed => [new OrderConfirmed(now)],
        OrderStatus.Confirmed or OrderStatus.Completed => [],
        _ => throw new InvalidTransitionException($"Cannot confirm an order that is {Status}."),
    };

    public IReadOnlyList<OrderEvent> Complete(DateTimeOffset now) => Status switch
    {
        OrderStatus.Confirmed => [new OrderCompleted(now)],
        OrderStatus.Completed => [],
        _ => throw new InvalidTransitionException($"Cannot complete an order that is {Status}."),
    };

    /// <summary>
    /// Rejecting is allowed until the order is confirmed. The saga places the order and reserves its stock at the
    /// same time, so a refused reservation may reject an order whose placement has not landed (yet): it is recorded
    /// as rejected so a late placement cannot revive it.
    /// </summary>
    public IReadOnlyList<OrderEvent> Reject(string reason, DateTimeOffset now) => Status switch
    {
        OrderStatus.None or OrderStatus.Placed => [new OrderRejected(reason, now)],
        OrderStatus.Rejected => [],
        _ => throw new InvalidTransitionException($"Cannot reject an order that is {Status}."),
    };

    /// <summary>Cancelling is allowed until the order completes; an order never placed is recorded as cancelled so a late placement cannot revive it.</summary>
    public IReadOnlyList<OrderEvent> Cancel(string reason, DateTimeOffset now) => Status switch
    {
        OrderStatus.None or OrderStatus.Placed or OrderStatus.Confirmed => [new OrderCancelled(reason, now)],
        OrderStatus.Cancelled or OrderStatus.Rejected => [],
        _ => throw new InvalidTransitionException($"Cannot cancel an order that is {Status}."),
    };
}
