using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Payments;
using OrderPlatform.EventStore.Events;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Grains.Payments;

public sealed class PaymentGatewayOptions
{
    public const string Section = "PaymentGateway";

    /// <summary>How long to wait for the provider before treating the outcome as unknown.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where the simulated provider keeps what it answered: "postgres" (the default; shared by every silo, it survives
    /// them) or "memory" (this silo's, until it stops: the platform's own cost in a benchmark of one silo, without the
    /// provider's ledger on the platform's database; see <see cref="MemorySimulatorLedger"/>).
    /// </summary>
    [System.ComponentModel.DataAnnotations.AllowedValues(SimulatorLedgers.Postgres, SimulatorLedgers.Memory,
        ErrorMessage = "PaymentGateway:SimulatorLedger takes postgres or memory.")]
    public string SimulatorLedger { get; set; } = SimulatorLedgers.Postgres;
}

/// <summary>
/// The payment of one order in front of the provider. Provider idempotency keys are derived from the order
/// and the operation, so every retry of an operation (by the saga, after a crash, on another silo) is the
/// same request to the provider. When an answer was lost, the provider is asked by key before trying again.
/// </summary>
public sealed class PaymentGrain(
    PostgresEventStore store,
    TimeProvider time,
    IPaymentGateway gateway,
    IOptions<PaymentGatewayOptions> options,
    ILogger<PaymentGrain> logger)
    : EventSourcedGrain<Payment, PaymentEvent>(store, EventTypes.Payments, time), IPaymentGrain
{
    // Set when an authorization request went unanswered: the next attempt asks the provider first.
    private bool _authorizationOutcomeUnknown;

    private Guid OrderId => this.GetPrimaryKey();

    protected override string StreamId => StreamIds.Payment(OrderId);

    protected override string AggregateType => "payment";

    protected override Payment InitialState => Payment.Initial;

    protected override Payment Apply(Payment state, PaymentEvent recorded) => state.Apply(recorded);

    /// <summary>Not begun, or settled: a refund of a captured payment is rare and activates it again.</summary>
    protected override bool IsAtRest(Payment state) => state.Status is PaymentStatus.None or PaymentStatus.Captured or PaymentStatus.Declined or PaymentStatus.Voided or PaymentStatus.Refunded;

    /// <summary>A declined authorization is recorded, but it is a refusal.</summary>
    protected override bool Succeeded(IReadOnlyList<PaymentEvent> events) => events[0] is not PaymentDeclined;

    private string Key(string operation) => $"{OrderId:N}:{operation}";

    public Task<CommandReply> AuthorizeAsync(string commandId, decimal amount, string currency, string paymentToken) =>
        RunAsync(commandId, isAuthorization: true, async payment =>
        {
            if (!payment.NeedsAuthorization)
            {
                return [];
            }

            var money = new Money(amount, currency);
            var key = Key("authorize");
            var result = _authorizationOutcomeUnknown ? await CallAsync(ct => gateway.LookupAsync(key, ct), key) : null;
            try
            {
                result ??= await CallAsync(ct => gateway.AuthorizeAsync(key, OrderId, money, paymentToken, ct), key);
            }
            catch (PaymentGatewayTimeoutException)
            {
                _authorizationOutcomeUnknown = true;
                throw;
            }

            _authorizationOutcomeUnknown = false;
            return result.Outcome == GatewayOutcome.Approved
                ? payment.RecordAuthorized(OrderId, money, result.ProviderReference, Time.GetUtcNow())
                : payment.RecordDeclined(OrderId, money, result.Reason ?? "declined", Time.GetUtcNow());
        });

    public Task<CommandReply> CaptureAsync(string commandId) =>
        RunAsync(commandId, isAuthorization: false, async payment =>
        {
            if (!payment.NeedsCapture)
            {
                return [];
            }

            var result = await CallAsync(ct => gateway.CaptureAsync(Key("capture"), payment.ProviderReference!, payment.Amount!.Value, ct), Key("capture"));
            return result.Outcome == GatewayOutcome.Approved
                ? payment.RecordCaptured(Time.GetUtcNow())
                : throw new DomainException($"The provider refused the capture: {result.Reason}");
        });

    /// <summary>
    /// Voids the authorization. When this grain never recorded one, the provider is asked whether an
    /// authorization went through anyway (its answer lost in a crash) and that one is voided.
    /// </summary>
    public Task<CommandReply> VoidAsync(string commandId, string reason) =>
        RunAsync(commandId, isAuthorization: false, async payment =>
        {
            var now = Time.GetUtcNow();
            if (payment.Status == PaymentStatus.None)
            {
                var lost = await CallAsync(ct => gateway.LookupAsync(Key("authorize"), ct), Key("authorize"));
                if (lost is not { Outcome: GatewayOutcome.Approved })
                {
                    return payment.RecordVoided(reason, now);
                }

                await VoidAtProviderAsync(lost.ProviderReference);
                return payment.RecordVoided($"{reason} (voided authorization {lost.ProviderReference}, whose answer was lost)", now);
            }

            if (!payment.NeedsVoid)
            {
                return [];
            }

            await VoidAtProviderAsync(payment.ProviderReference!);
            return payment.RecordVoided(reason, now);
        });

    public Task<CommandReply> RefundAsync(string commandId) =>
        RunAsync(commandId, isAuthorization: false, async payment =>
        {
            if (!payment.NeedsRefund)
            {
                return [];
            }

            var result = await CallAsync(ct => gateway.RefundAsync(Key("refund"), payment.ProviderReference!, payment.Amount!.Value, ct), Key("refund"));
            return result.Outcome == GatewayOutcome.Approved
                ? payment.RecordRefunded(Time.GetUtcNow())
                : throw new DomainException($"The provider refused the refund: {result.Reason}");
        });

    public Task<PaymentView?> GetAsync() => Task.FromResult(State.Status == PaymentStatus.None ? null : new PaymentView(
        OrderId,
        State.Status.ToString(),
        State.Amount?.Amount,
        State.Amount?.Currency,
        State.ProviderReference,
        State.NetCharged,
        State.Reason));

    private async Task VoidAtProviderAsync(string providerReference)
    {
        var result = await CallAsync(ct => gateway.VoidAsync(Key("void"), providerReference, ct), Key("void"));
        if (result.Outcome != GatewayOutcome.Approved)
        {
            throw new DomainException($"The provider refused the void: {result.Reason}");
        }
    }

    private async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, string idempotencyKey)
    {
        using var timeout = new CancellationTokenSource(options.Value.Timeout, Time);
        try
        {
            return await call(timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new PaymentGatewayTimeoutException($"No answer from the payment provider within {options.Value.Timeout} for key {idempotencyKey}.");
        }
    }

    private async Task<CommandReply> RunAsync(string commandId, bool isAuthorization, Func<Payment, Task<IReadOnlyList<PaymentEvent>>> decide)
    {
        try
        {
            var events = await HandleAsync(commandId, decide);
            return (events.Count > 0 ? events[0] : null) switch
            {
                PaymentDeclined declined => CommandReply.Refused(declined.Reason),
                PaymentAuthorized authorized => CommandReply.Done(authorized.ProviderReference),
                null when isAuthorization => AuthorizationReplyForState(),
                _ => CommandReply.Done(State.Status.ToString()),
            };
        }
        catch (DomainException e)
        {
            return CommandReply.Refused(e.Message);
        }
        catch (Exception e) when (e is PaymentGatewayUnavailableException or PaymentGatewayTimeoutException)
        {
            // Nothing recorded: the saga retries under the same command id and the same provider key.
            logger.LogWarning("Payment provider call for order {OrderId} failed transiently: {Message}", OrderId, e.Message);
            return CommandReply.Transient(e.Message);
        }
    }

    /// <summary>A repeated or late authorization request: only an authorization that still stands counts as done.</summary>
    private CommandReply AuthorizationReplyForState() => State.Status switch
    {
        PaymentStatus.Authorized or PaymentStatus.Captured or PaymentStatus.Refunded => CommandReply.Done(State.ProviderReference),
        PaymentStatus.Declined => CommandReply.Refused(State.Reason ?? "declined"),
        _ => CommandReply.Refused($"The payment is already {State.Status}."),
    };
}
