using OrderPlatform.Domain;
using OrderPlatform.Domain.Orders;
using OrderPlatform.EventStore.Events;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Grains.Orders;

public sealed class OrderGrain(PostgresEventStore store, TimeProvider time)
    : EventSourcedGrain<Order, OrderEvent>(store, EventTypes.Orders, time), IOrderGrain
{
    protected override string StreamId => StreamIds.Order(this.GetPrimaryKey());

    /// <summary>The aggregate type the order's events are stored and published under.</summary>
    public const string Aggregate = "order";

    protected override string AggregateType => Aggregate;

    protected override Order InitialState => Order.Initial;

    protected override Order Apply(Order state, OrderEvent recorded) => state.Apply(recorded);

    protected override bool IsAtRest(Order state) => state.Status == OrderStatus.None || IsClosed(state);

    /// <summary>Whether the order has reached its end (completed, rejected or cancelled): nothing follows in its stream.</summary>
    public static bool IsClosed(Order state) => state.Status is OrderStatus.Completed or OrderStatus.Rejected or OrderStatus.Cancelled;

    public Task<CommandReply> PlaceAsync(string commandId, CheckoutRequest request) =>
        RunAsync(commandId, order => order.Place(
            request.OrderId,
            request.CustomerId,
            [.. request.Lines.Select(l => new OrderLine(l.Sku, l.Quantity, l.UnitPrice))],
            request.Currency,
            Time.GetUtcNow()), request.CorrelationId);

    public Task<CommandReply> ConfirmAsync(string commandId) => RunAsync(commandId, order => order.Confirm(Time.GetUtcNow()));

    public Task<CommandReply> RejectAsync(string commandId, string reason) => RunAsync(commandId, order => order.Reject(reason, Time.GetUtcNow()));

    public Task<CommandReply> CancelAsync(string commandId, string reason) => RunAsync(commandId, order => order.Cancel(reason, Time.GetUtcNow()));

    public Task<CommandReply> CompleteAsync(string commandId) => RunAsync(commandId, order => order.Complete(Time.GetUtcNow()));

    public async Task<OrderView?> GetAsync()
    {
        // The saga may have confirmed or completed the order with another grain's append (decision record 0031): an
        // order under way is read again, so an activation left from an earlier read does not show it as it was. Since
        // every such read reads the stream, and the saga carries the order's next events without this activation, one
        // that only served reads need not stay: it rests as a finished order's does (a finished order's saga answers
        // for it, so no read would bring this activation to the order's end).
        if (State.Status is OrderStatus.Placed or OrderStatus.Confirmed)
        {
            await RefreshAsync();
            RestAfterReads();
        }

        return State.Status == OrderStatus.None ? null : ViewOf(this.GetPrimaryKey(), State, Version);
    }

    private async Task<CommandReply> RunAsync(string commandId, Func<Order, IReadOnlyList<OrderEvent>> decide, string? correlationId = null)
    {
        try
        {
            await HandleAsync(commandId, decide, correlationId);
            return CommandReply.Done(State.Status.ToString());
        }
        catch (DomainException e)
        {
            return CommandReply.Refused(e.Message);
        }
    }

    /// <summary>What a reader is shown of an order in <paramref name="state"/>, its stream at <paramref name="version"/>.</summary>
    public static OrderView ViewOf(Guid orderId, Order state, int version) => new(
        orderId,
        state.Status.ToString(),
        state.CustomerId,
        [.. state.Lines.Select(l => new OrderLineData(l.Sku, l.Quantity, l.UnitPrice))],
        state.Total?.Amount ?? 0m,
        state.Total?.Currency ?? "",
        state.Reason,
        version);
}
