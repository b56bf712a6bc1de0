namespace OrderPlatform.Grains;

public enum ReplyStatus
{
    /// <summary>The command took effect (now or the first time it was sent).</summary>
    Done,
    /// <summary>A business refusal: out of stock, declined, not allowed in this state.</summary>
    Refused,
    /// <summary>Could not be done now; retry later with the same command id.</summary>
    Transient,
}

/// <summary>
/// A command's answer. <see cref="CallerRecordCarried"/>: the callee committed the caller's own record of the
/// command's success (offered with the call) in the same transaction as the command's events.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.CommandReply")]
public sealed record CommandReply(
    [property: Id(0)] ReplyStatus Status,
    [property: Id(1)] string? Detail,
    [property: Id(2)] bool CallerRecordCarried = false)
{
    public static CommandReply Done(string? detail = null) => new(ReplyStatus.Done, detail);

    public static CommandReply Refused(string reason) => new(ReplyStatus.Refused, reason);

    public static CommandReply Transient(string reason) => new(ReplyStatus.Transient, reason);
}

[GenerateSerializer, Immutable, Alias("OrderPlatform.OrderLineData")]
public sealed record OrderLineData(
    [property: Id(0)] string Sku,
    [property: Id(1)] int Quantity,
    [property: Id(2)] decimal UnitPrice);

/// <summary>Everything the saga needs to drive one order.</summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.CheckoutRequest")]
public sealed record CheckoutRequest(
    [property: Id(0)] Guid OrderId,
    [property: Id(1)] string CustomerId,
    [property: Id(2)] IReadOnlyList<OrderLineData> Lines,
    [property: Id(3)] string Currency,
    [property: Id(4)] string PaymentToken,
    [property: Id(5)] string? CorrelationId);

[GenerateSerializer, Immutable, Alias("OrderPlatform.OrderView")]
public sealed record OrderView(
    [property: Id(0)] Guid OrderId,
    [property: Id(1)] string Status,
    [property: Id(2)] string CustomerId,
    [property: Id(3)] IReadOnlyList<OrderLineData> Lines,
    [property: Id(4)] decimal Total,
    [property: Id(5)] string Currency,
    [property: Id(6)] string? Reason,
    [property: Id(7)] int Version);

[GenerateSerializer, Immutable, Alias("OrderPlatform.StockView")]
public sealed record StockView(
    [property: Id(0)] string Sku,
    [property: Id(1)] int OnHand,
    [property: Id(2)] int Available,
    [property: Id(3)] int Reserved,
    [property: Id(4)] int Sold,
    [property: Id(5)] int Version);

[GenerateSerializer, Immutable, Alias("OrderPlatform.PaymentView")]
public sealed record PaymentView(
    [property: Id(0)] Guid OrderId,
    [property: Id(1)] string Status,
    [property: Id(2)] decimal? Amount,
    [property: Id(3)] string? Currency,
    [property: Id(4)] string? ProviderReference,
    [property: Id(5)] decimal NetCharged,
    [property: Id(6)] string? Reason);

[GenerateSerializer, Immutable, Alias("OrderPlatform.SagaStepView")]
public sealed record SagaStepView(
    [property: Id(0)] string Step,
    [property: Id(1)] string Status,
    [property: Id(2)] int Attempts,
    [property: Id(3)] string? Detail,
    [property: Id(4)] DateTimeOffset StartedAt,
    [property: Id(5)] DateTimeOffset? FinishedAt,
    [property: Id(6)] DateTimeOffset? RetryAt);

[GenerateSerializer, Immutable, Alias("OrderPlatform.SagaView")]
public sealed record SagaView(
    [property: Id(0)] Guid OrderId,
    [property: Id(1)] string Phase,
    [property: Id(2)] string? Outcome,
    [property: Id(3)] string? Reason,
    [property: Id(4)] DateTimeOffset? StartedAt,
    [property: Id(5)] DateTimeOffset? Deadline,
    [property: Id(6)] DateTimeOffset? FinishedAt,
    [property: Id(7)] IReadOnlyList<SagaStepView> Steps);

/// <summary>
/// An order as its saga can tell it: the saga, and the order when the saga knows the order's stream as a whole, having
/// finished and written every event of it itself (then the order is as those events leave it, and nothing else writes
/// it). When <see cref="Order"/> is null the order's own grain answers for it.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.SagaReading")]
public sealed record SagaReading(
    [property: Id(0)] SagaView Saga,
    [property: Id(1)] OrderView? Order);

/// <summary>
/// The response to store under a request's idempotency key in the same transaction as the request's first effect, so
/// the effect and the answer to its replays commit together. Without <see cref="RequestHash"/> the key is claimed
/// already and the append completes it. With it, the key is not claimed yet: the append claims it, completed, with this
/// hash, until <see cref="ExpiresAt"/>, and a key in use refuses the append, so nothing of the request is written.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.ResponseToStore")]
public sealed record ResponseToStore(
    [property: Id(0)] string IdempotencyKey,
    [property: Id(1)] int StatusCode,
    [property: Id(2)] string? ContentType,
    [property: Id(3)] string? Location,
    [property: Id(4)] string? Body,
    [property: Id(5)] byte[]? RequestHash = null,
    [property: Id(6)] DateTimeOffset ExpiresAt = default);

/// <summary>
/// The saga after a start, and whether the start's append also stored the response it was given (it did not when the
/// saga had started before, or when the key it was to claim is in use: nothing was written then).
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.SagaStartReply")]
public sealed record SagaStartReply(
    [property: Id(0)] SagaView Saga,
    [property: Id(1)] bool ResponseStored);
