using System.Globalization;
using OrderPlatform.Domain;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.Grains.Payments;

/// <summary>
/// What the simulator does for a payment token, so tests and local runs can pick a provider behaviour per order:
/// <c>tok_approve</c> (and any other token) approves, <c>tok_decline</c> declines, <c>tok_fail_N</c> fails
/// authorization transiently N times, <c>tok_timeout</c> authorizes but loses the first answer,
/// <c>tok_slow_MS</c> answers authorization after MS milliseconds, <c>tok_capture_fail_N</c> fails capture N times.
/// </summary>
public sealed record SimulatedBehaviour(bool Decline, int AuthorizeFailures, bool LoseFirstAnswer, TimeSpan AuthorizeDelay, int CaptureFailures)
{
    public static SimulatedBehaviour Parse(string token)
    {
        var behaviour = new SimulatedBehaviour(false, 0, false, TimeSpan.Zero, 0);
        return token switch
        {
            "tok_decline" => behaviour with { Decline = true },
            "tok_timeout" => behaviour with { LoseFirstAnswer = true },
            _ when Number(token, "tok_capture_fail_") is { } n => behaviour with { CaptureFailures = n },
            _ when Number(token, "tok_fail_") is { } n => behaviour with { AuthorizeFailures = n },
            _ when Number(token, "tok_slow_") is { } ms => behaviour with { AuthorizeDelay = TimeSpan.FromMilliseconds(Math.Min(ms, 60_000)) },
            _ => behaviour,
        };
    }

    private static int? Number(string token, string prefix) =>
        token.StartsWith(prefix, StringComparison.Ordinal)
        && int.TryParse(token.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n
            : null;
}

/// <summary>
/// A deterministic stand-in for a payment provider, for local runs and tests: it answers at once (or as the token
/// says) and keeps what it answered in its ledger (<see cref="ISimulatorLedger"/>), by default in PostgreSQL, because
/// a real provider outlives our silos: a retry after a crash must find the first answer under its idempotency key,
/// on any silo.
/// </summary>
public sealed class SimulatedPaymentGateway : IPaymentGateway
{
    private readonly ISimulatorLedger _ledger;
    private readonly TimeProvider _time;

    /// <summary>A simulator with the given ledger; <paramref name="time"/> is the clock its simulated delays run on.</summary>
    public SimulatedPaymentGateway(ISimulatorLedger ledger, TimeProvider time)
    {
        _ledger = ledger;
        _time = time;
    }

    /// <summary>Where the simulator keeps what it answered: "postgres" or "memory".</summary>
    public string LedgerKind => _ledger.Kind;

    /// <summary>
    /// How long the provider's recorded answers waited for their group's statement, and how long it took with its
    /// commit; null for a ledger in memory, which writes no statements.
    /// </summary>
    public WriteTimings? AnswerTimings => (_ledger as PostgresSimulatorLedger)?.AnswerTimings;

    /// <summary>
    /// How long captures waited for the statement that looks up their authorizations, and how long it took; null for a
    /// ledger in memory.
    /// </summary>
    public WriteTimings? CaptureLookTimings => (_ledger as PostgresSimulatorLedger)?.CaptureLookTimings;

    public async Task<GatewayResult> AuthorizeAsync(string idempotencyKey, Guid orderId, Money amount, string paymentToken, CancellationToken cancellationToken)
    {
        var behaviour = SimulatedBehaviour.Parse(paymentToken);
        if (behaviour is { AuthorizeFailures: 0, LoseFirstAnswer: false } && behaviour.AuthorizeDelay == TimeSpan.Zero)
        {
            // An immediate answer: recording it first is the lookup too (a repeat finds the first answer under its key).
            var immediate = behaviour.Decline
                ? new GatewayResult(GatewayOutcome.Declined, NewReference(), "Card declined (simulated).")
                : new GatewayResult(GatewayOutcome.Approved, NewReference(), null);
            return (await RecordAsync(idempotencyKey, "authorize", immediate, amount, paymentToken, cancellationToken)).Result;
        }

        if (await LookupAsync(idempotencyKey, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        if (behaviour.AuthorizeFailures > 0 && await _ledger.CountFailureAsync(idempotencyKey, cancellationToken) <= behaviour.AuthorizeFailures)
        {
            throw new PaymentGatewayUnavailableException("The payment provider is unavailable (simulated).");
        }

        if (behaviour.AuthorizeDelay > TimeSpan.Zero)
        {
            await Task.Delay(behaviour.AuthorizeDelay, _time, cancellationToken);
        }

        var result = behaviour.Decline
            ? new GatewayResult(GatewayOutcome.Declined, NewReference(), "Card declined (simulated).")
            : new GatewayResult(GatewayOutcome.Approved, NewReference(), null);
        var (stored, isNew) = await RecordAsync(idempotencyKey, "authorize", result, amount, paymentToken, cancellationToken);
        if (behaviour.LoseFirstAnswer && isNew)
        {
            throw new PaymentGatewayTimeoutException("The payment provider did not answer in time (simulated; the authorization went through).");
        }

        return stored;
    }

    public async Task<GatewayResult> CaptureAsync(string idempotencyKey, string providerReference, Money amount, CancellationToken cancellationToken)
    {
        var (earlier, token, voided, captured) = await _ledger.CaptureStateAsync(idempotencyKey, providerReference, cancellationToken);
        if (earlier is not null)
        {
            return earlier;
        }

        if (token is null)
        {
            return new GatewayResult(GatewayOutcome.Declined, providerReference, "No such authorization.");
        }

        var behaviour = SimulatedBehaviour.Parse(token);
        if (behaviour.CaptureFailures > 0 && await _ledger.CountFailureAsync(idempotencyKey, cancellationToken) <= behaviour.CaptureFailures)
        {
            throw new PaymentGatewayUnavailableException("The payment provider is unavailable (simulated).");
        }

        var result = voided
            ? new GatewayResult(GatewayOutcome.Declined, providerReference, "The authorization was voided.")
            : captured
                ? new GatewayResult(GatewayOutcome.Declined, providerReference, "Already captured.")
                : new GatewayResult(GatewayOutcome.Approved, providerReference, null);
        return (await RecordAsync(idempotencyKey, "capture", result, amount, token, cancellationToken)).Result;
    }

    public async Task<GatewayResult> VoidAsync(string idempotencyKey, string providerReference, CancellationToken cancellationToken)
    {
        if (await LookupAsync(idempotencyKey, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        var token = await _ledger.AuthorizationTokenAsync(providerReference, cancellationToken) ?? "";
        var result = await _ledger.HasApprovedAsync(providerReference, "capture", cancellationToken)
            ? new GatewayResult(GatewayOutcome.Declined, providerReference, "Already captured; refund instead.")
            : new GatewayResult(GatewayOutcome.Approved, providerReference, null);
        return (await RecordAsync(idempotencyKey, "void", result, Money.Zero("XXX"), token, cancellationToken)).Result;
    }

    public async Task<GatewayResult> RefundAsync(string idempotencyKey, string providerReference, Money amount, CancellationToken cancellationToken)
    {
        if (await LookupAsync(idempotencyKey, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        var token = await _ledger.AuthorizationTokenAsync(providerReference, cancellationToken) ?? "";
        var result = await _ledger.HasApprovedAsync(providerReference, "capture", cancellationToken)
            ? new GatewayResult(GatewayOutcome.Approved, providerReference, null)
            : new GatewayResult(GatewayOutcome.Declined, providerReference, "Nothing was captured.");
        return (await RecordAsync(idempotencyKey, "refund", result, amount, token, cancellationToken)).Result;
    }

    public Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        _ledger.LookupAsync(idempotencyKey, cancellationToken);

    private static string NewReference() => $"sim_{Guid.NewGuid():N}";

    /// <summary>Records a result under its key; when a concurrent request with the same key won, returns that one instead.</summary>
    private async Task<(GatewayResult Result, bool IsNew)> RecordAsync(
        string idempotencyKey, string operation, GatewayResult result, Money amount, string paymentToken, CancellationToken cancellationToken)
    {
        if (await _ledger.RecordAsync(new SimulatorOperation(idempotencyKey, operation, result, amount, paymentToken), cancellationToken))
        {
            return (result, true);
        }

        // Another request under the key was recorded first (its answer is the one to give), or, when none is found,
        // the first one's write failed and nothing is recorded: like a provider that cannot answer, try again later.
        return (await LookupAsync(idempotencyKey, cancellationToken)
            ?? throw new PaymentGatewayUnavailableException("The payment provider could not record the request (simulated)."), false);
    }
}
