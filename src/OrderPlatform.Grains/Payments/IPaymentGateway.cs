using OrderPlatform.Domain;

namespace OrderPlatform.Grains.Payments;

public enum GatewayOutcome
{
    Approved,
    Declined,
}

/// <summary>The provider's answer to one request. <see cref="ProviderReference"/> names the payment at the provider.</summary>
public sealed record GatewayResult(GatewayOutcome Outcome, string ProviderReference, string? Reason);

/// <summary>The provider could not be reached or refused to work right now; nothing happened.</summary>
public sealed class PaymentGatewayUnavailableException(string message) : Exception(message);

/// <summary>No answer in time: the request may or may not have taken effect. Look it up by idempotency key.</summary>
public sealed class PaymentGatewayTimeoutException(string message) : Exception(message);

/// <summary>
/// An external payment service provider. Every call carries an idempotency key; the provider answers a
/// repeated key with the first result and never charges twice.
/// </summary>
public interface IPaymentGateway
{
    Task<GatewayResult> AuthorizeAsync(string idempotencyKey, Guid orderId, Money amount, string paymentToken, CancellationToken cancellationToken);

    Task<GatewayResult> CaptureAsync(string idempotencyKey, string providerReference, Money amount, CancellationToken cancellationToken);

    Task<GatewayResult> VoidAsync(string idempotencyKey, string providerReference, CancellationToken cancellationToken);

    Task<GatewayResult> RefundAsync(string idempotencyKey, string providerReference, Money amount, CancellationToken cancellationToken);

    /// <summary>The result recorded under an idempotency key, or null when the provider never saw it.</summary>
    Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken);
}
