namespace OrderPlatform.Domain.Payments;

/// <summary>Everything that can happen to the payment of one order.</summary>
public abstract record PaymentEvent;

public sealed record PaymentAuthorized(Guid OrderId, Money Amount, string ProviderReference, DateTimeOffset AuthorizedAt) : PaymentEvent;

public sealed record PaymentDeclined(Guid OrderId, Money Amount, string Reason, DateTimeOffset DeclinedAt) : PaymentEvent;

public sealed record PaymentCaptured(Money Amount, DateTimeOffset CapturedAt) : PaymentEvent;

/// <summary>The authorization was released. Also recorded when nothing was authorized, so a late authorization is refused.</summary>
public sealed record PaymentVoided(string Reason, DateTimeOffset VoidedAt) : PaymentEvent;

public sealed record PaymentRefunded(Money Amount, DateTimeOffset RefundedAt) : PaymentEvent;
