using OrderPlatform.Domain.Orders;

namespace OrderPlatform.Domain.Checkout;

public enum SagaStepKind
{
    PlaceOrder,
    ReserveStock,
    AuthorizePayment,
    ConfirmOrder,
    CapturePayment,
    CommitStock,
    CompleteOrder,

    // Compensations: real actions, run in reverse order of the forward steps they undo.
    VoidPayment,
    ReleaseStock,
    RejectOrder,
    CancelOrder,
}

/// <summary>One step of one saga; <see cref="Sku"/> is set for the per-line stock steps.</summary>
public sealed record SagaStep(SagaStepKind Kind, string? Sku = null)
{
    public override string ToString() => Sku is null ? Kind.ToString() : $"{Kind}:{Sku}";
}

public enum SagaOutcome
{
    Completed,
    Rejected,
    Cancelled,
}

/// <summary>A line to reserve: quantities of one SKU summed over the order's lines.</summary>
public sealed record StockLine(string Sku, int Quantity);

/// <summary>What the saga records, before and after each step, so it can always tell where it stopped.</summary>
public abstract record SagaEvent;

public sealed record SagaStarted(
    Guid OrderId,
    string CustomerId,
    IReadOnlyList<OrderLine> Lines,
    string Currency,
    string PaymentToken,
    DateTimeOffset StartedAt,
    DateTimeOffset Deadline,
    string? CorrelationId = null) : SagaEvent;

public sealed record SagaStepStarted(SagaStep Step, int Attempt, DateTimeOffset StartedAt) : SagaEvent;

public sealed record SagaStepSucceeded(SagaStep Step, int Attempt, string? Detail, DateTimeOffset SucceededAt) : SagaEvent;

public sealed record SagaStepFailed(SagaStep Step, int Attempt, string Reason, bool Transient, DateTimeOffset? RetryAt, DateTimeOffset FailedAt) : SagaEvent;

public sealed record SagaCancellationRequested(string Reason, DateTimeOffset RequestedAt) : SagaEvent;

public sealed record SagaCompensationStarted(SagaOutcome Outcome, string Reason, DateTimeOffset StartedAt) : SagaEvent;

public sealed record SagaFinished(SagaOutcome Outcome, string? Reason, DateTimeOffset FinishedAt) : SagaEvent;
