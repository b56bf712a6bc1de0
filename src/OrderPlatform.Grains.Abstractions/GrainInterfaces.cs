using Orleans.Concurrency;

namespace OrderPlatform.Grains;

/// <summary>One order (key: order id). Every command carries a command id; a repeated id returns the first outcome.</summary>
[Alias("OrderPlatform.IOrderGrain")]
public interface IOrderGrain : IGrainWithGuidKey
{
    [Alias("Place")]
    Task<CommandReply> PlaceAsync(string commandId, CheckoutRequest request);

    [Alias("Confirm")]
    Task<CommandReply> ConfirmAsync(string commandId);

    [Alias("Reject")]
    Task<CommandReply> RejectAsync(string commandId, string reason);

    [Alias("Cancel")]
    Task<CommandReply> CancelAsync(string commandId, string reason);

    [Alias("Complete")]
    Task<CommandReply> CompleteAsync(string commandId);

    [Alias("Get"), AlwaysInterleave]
    Task<OrderView?> GetAsync();
}

/// <summary>Stock of one SKU (key: the SKU).</summary>
[Alias("OrderPlatform.IInventoryGrain")]
public interface IInventoryGrain : IGrainWithStringKey
{
    [Alias("Restock")]
    Task<StockView> RestockAsync(string commandId, int quantity);

    /// <summary><paramref name="reserveBy"/>: the order's deadline for reserving (its saga's), carried by all three per-order commands.</summary>
    [Alias("Reserve")]
    Task<CommandReply> ReserveAsync(string commandId, Guid orderId, int quantity, DateTimeOffset reserveBy);

    [Alias("Release")]
    Task<CommandReply> ReleaseAsync(string commandId, Guid orderId, DateTimeOffset reserveBy);

    [Alias("Commit")]
    Task<CommandReply> CommitAsync(string commandId, Guid orderId, DateTimeOffset reserveBy);

    [Alias("Get"), AlwaysInterleave]
    Task<StockView> GetAsync();
}

/// <summary>The payment of one order (key: order id), in front of the payment provider.</summary>
[Alias("OrderPlatform.IPaymentGrain")]
public interface IPaymentGrain : IGrainWithGuidKey
{
    [Alias("Authorize")]
    Task<CommandReply> AuthorizeAsync(string commandId, decimal amount, string currency, string paymentToken);

    [Alias("Capture")]
    Task<CommandReply> CaptureAsync(string commandId);

    [Alias("Void")]
    Task<CommandReply> VoidAsync(string commandId, string reason);

    [Alias("Refund")]
    Task<CommandReply> RefundAsync(string commandId);

    [Alias("Get"), AlwaysInterleave]
    Task<PaymentView?> GetAsync();
}

/// <summary>Drives one order through checkout (key: order id).</summary>
[Alias("OrderPlatform.IOrderSagaGrain")]
public interface IOrderSagaGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Records the saga's start (a no-op when it already started) and lets it run in the background. When the start
    /// is recorded now, <paramref name="response"/> (if given) is stored in the same transaction.
    /// </summary>
    [Alias("Start")]
    Task<SagaStartReply> StartAsync(CheckoutRequest request, ResponseToStore? response);

    /// <summary>Asks for the order to be cancelled; refused once payment capture has begun or the saga finished otherwise.</summary>
    [Alias("RequestCancellation"), AlwaysInterleave]
    Task<CommandReply> RequestCancellationAsync(string reason);

    /// <summary>Makes sure an unfinished saga is running (after a crash or a missed timer).</summary>
    [Alias("Resume"), OneWay]
    Task ResumeAsync();

    [Alias("Get"), AlwaysInterleave]
    Task<SagaView?> GetAsync();

    /// <summary>
    /// Answers once the saga has finished, or when <paramref name="timeout"/> has passed (at once for a zero one), with
    /// the saga as it is then (null when there is no such saga): for clients that want the outcome without polling. With
    /// the order too when the saga finished and wrote the order's whole stream itself: a reader of a finished order then
    /// needs neither the order's grain nor a read of its stream. The call's own timeout is longer than the longest wait
    /// the API asks for (30 s, as long as a grain call's default timeout): a wait that runs its course answers with the
    /// saga as it is, never with the caller's timeout.
    /// </summary>
    [Alias("Read"), AlwaysInterleave, ResponseTimeout("00:01:00")]
    Task<SagaReading?> ReadAsync(TimeSpan timeout);
}
