namespace OrderPlatform.Domain.Payments;

public enum PaymentStatus
{
    None,
    Authorized,
    Declined,
    Captured,
    Voided,
    Refunded,
}

/// <summary>
/// The payment of one order. The provider is called by the grain; these decisions say whether a call is
/// needed at all and which events record its answer, so a repeated command never charges twice.
/// </summary>
public sealed record Payment
{
    public static readonly Payment Initial = new();

    public PaymentStatus Status { get; init; }

    public Guid OrderId { get; init; }

    public Money? Amount { get; init; }

    public string? ProviderReference { get; init; }

    public string? Reason { get; init; }

    /// <summary>Net amount charged to the customer: captured minus refunded.</summary>
    public decimal NetCharged { get; init; }

    public Payment Apply(PaymentEvent @event) => @event switch
    {
        PaymentAuthorized e => this with { Status = PaymentStatus.Authorized, OrderId = e.OrderId, Amount = e.Amount, ProviderReference = e.ProviderReference },
        PaymentDeclined e => this with { Status = PaymentStatus.Declined, OrderId = e.OrderId, Amount = e.Amount, Reason = e.Reason },
        PaymentCaptured e => this with { Status = PaymentStatus.Captured, NetCharged = NetCharged + e.Amount.Amount },
        PaymentVoided e => this with { Status = PaymentStatus.Voided, Reason = e.Reason },
        PaymentRefunded e => this with { Status = PaymentStatus.Refunded, NetCharged = NetCharged - e.Amount.Amount },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "Unknown payment event."),
    };

    /// <summary>True when the provider must be asked to authorize; otherwise the current status is the answer.</summary>
    public bool NeedsAuthorization => Status == PaymentStatus.None;

    public IReadOnlyList<PaymentEvent> RecordAuthorized(Guid orderId, Money amount, string providerReference, DateTimeOffset now)
    {
        if (amount.Amount <= 0)
        {
            throw new DomainException("An authorization needs a positive amount.");
        }

        return Status == PaymentStatus.None ? [new PaymentAuthorized(orderId, amount, providerReference, now)] : [];
    }

    public IReadOnlyList<PaymentEvent> RecordDeclined(Guid orderId, Money amount, string reason, DateTimeOffset now) =>
        Status == PaymentStatus.None ? [new PaymentDeclined(orderId, amount, reason, now)] : [];

    public bool NeedsCapture => Status switch
    {
        PaymentStatus.Authorized => true,
        PaymentStatus.Captured or PaymentStatus.Refunded => false,
        _ => throw new InvalidTransitionException($"Cannot capture a payment that is {Status}."),
    };

    public IReadOnlyList<PaymentEvent> RecordCaptured(DateTimeOffset now) =>
        Status == PaymentStatus.Authorized ? [new PaymentCaptured(Amount!.Value, now)] : [];

    public bool NeedsVoid => Status switch
    {
        PaymentStatus.Authorized => true,
        PaymentStatus.None or PaymentStatus.Declined or PaymentStatus.Voided => false,
        _ => throw new InvalidTransitionException($"Cannot void a payment that is {Status}; refund it instead."),
    };

    public IReadOnlyList<PaymentEvent> RecordVoided(string reason, DateTimeOffset now) => Status switch
    {
        PaymentStatus.Authorized or PaymentStatus.None => [new PaymentVoided(reason, now)],
        _ => [],
    };

    public bool NeedsRefund => Status switch
    {
        PaymentStatus.Captured => true,
        PaymentStatus.Refunded => false,
        _ => throw new InvalidTransitionException($"Cannot refund a payment that is {Status}."),
    };

    public IReadOnlyList<PaymentEvent> RecordRefunded(DateTimeOffset now) =>
        Status == PaymentStatus.Captured ? [new PaymentRefunded(Amount!.Value, now)] : [];
}
