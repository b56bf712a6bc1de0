using System.Globalization;
using Npgsql;
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
/// A deterministic stand-in for a payment provider, for local runs and tests. Its ledger is in PostgreSQL
/// (schema psp_simulator) because a real provider outlives our silos: a retry after a crash must find the
/// first answer under its idempotency key, on any silo. Answers recorded at the same time share one statement and
/// one transaction, so that the stand-in for a remote provider does not cost the platform's database a commit per call.
/// </summary>
public sealed class SimulatedPaymentGateway : IPaymentGateway
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly StatementGroups<PendingRecord> _records;

    // grouping: how long a small group of answers waits for company (none when not given).
    public SimulatedPaymentGateway(NpgsqlDataSource dataSource, TimeProvider time, EventStoreOptions? grouping = null)
    {
        _dataSource = dataSource;
        _time = time;
        _records = new StatementGroups<PendingRecord>(
            group => KeyedGroups.WriteAsync(group, r => r.IdempotencyKey, r => r.Inserted.TrySetResult(false), InsertRecordsAsync),
            maxRunning: 2,
            maxPerGroup: 256,
            linger: grouping?.Linger(),
            timings: AnswerTimings);
    }

    /// <summary>How long the provider's recorded answers waited for their group's statement, and how long it took with its commit.</summary>
    public WriteTimings AnswerTimings { get; } = new(TimeProvider.System);

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

        if (behaviour.AuthorizeFailures > 0 && await CountFailureAsync(idempotencyKey, behaviour.AuthorizeFailures, cancellationToken))
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
        var (earlier, token, voided, captured) = await CaptureStateAsync(idempotencyKey, providerReference, cancellationToken);
        if (earlier is not null)
        {
            return earlier;
        }

        if (token is null)
        {
            return new GatewayResult(GatewayOutcome.Declined, providerReference, "No such authorization.");
        }

        var behaviour = SimulatedBehaviour.Parse(token);
        if (behaviour.CaptureFailures > 0 && await CountFailureAsync(idempotencyKey, behaviour.CaptureFailures, cancellationToken))
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

    /// <summary>In one round trip: the answer already given under the key, the authorization's token, and whether it was voided or captured.</summary>
    private async Task<(GatewayResult? Earlier, string? Token, bool Voided, bool Captured)> CaptureStateAsync(
        string idempotencyKey, string providerReference, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            """
            select e.outcome, e.payment_ref, e.reason,
                   (select payment_token from psp_simulator.operations where payment_ref = $2 and operation = 'authorize' and outcome = 'approved'),
                   exists (select 1 from psp_simulator.operations where payment_ref = $2 and operation = 'void' and outcome = 'approved'),
                   exists (select 1 from psp_simulator.operations where payment_ref = $2 and operation = 'capture' and outcome = 'approved')
            from (select 1) as one
            left join psp_simulator.operations e on e.idempotency_key = $1
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = providerReference });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var earlier = reader.IsDBNull(0) ? null : RecordedResult(reader);
        return (earlier, reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetBoolean(4), reader.GetBoolean(5));
    }

    public async Task<GatewayResult> VoidAsync(string idempotencyKey, string providerReference, CancellationToken cancellationToken)
    {
        if (await LookupAsync(idempotencyKey, cancellationToken) is { } earlier)
        {
            return earlier;
        }

        var token = await AuthorizationTokenAsync(providerReference, cancellationToken) ?? "";
        var result = await HasAsync(providerReference, "capture", cancellationToken)
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

        var token = await AuthorizationTokenAsync(providerReference, cancellationToken) ?? "";
        var result = await HasAsync(providerReference, "capture", cancellationToken)
            ? new GatewayResult(GatewayOutcome.Approved, providerReference, null)
            : new GatewayResult(GatewayOutcome.Declined, providerReference, "Nothing was captured.");
        return (await RecordAsync(idempotencyKey, "refund", result, amount, token, cancellationToken)).Result;
    }

    public async Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("select outcome, payment_ref, reason from psp_simulator.operations where idempotency_key = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? RecordedResult(reader) : null;
    }

    /// <summary>An answer recorded in the operations table, from the columns outcome, payment_ref and reason (first, in that order).</summary>
    private static GatewayResult RecordedResult(NpgsqlDataReader reader) => new(
        reader.GetString(0) == "approved" ? GatewayOutcome.Approved : GatewayOutcome.Declined,
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2));

    private static string NewReference() => $"sim_{Guid.NewGuid():N}";

    /// <summary>Counts one more failed attempt under the key; true while the count is within the failures to simulate.</summary>
    private async Task<bool> CountFailureAsync(string idempotencyKey, int failures, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            """
            insert into psp_simulator.attempts (idempotency_key, failures) values ($1, 1)
            on conflict (idempotency_key) do update set failures = psp_simulator.attempts.failures + 1
            returning failures
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        var count = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
        return count <= failures;
    }

    private async Task<string?> AuthorizationTokenAsync(string providerReference, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "select payment_token from psp_simulator.operations where payment_ref = $1 and operation = 'authorize' and outcome = 'approved'");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = providerReference });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    private async Task<bool> HasAsync(string providerReference, string operation, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "select exists (select 1 from psp_simulator.operations where payment_ref = $1 and operation = $2 and outcome = 'approved')");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = providerReference });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operation });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Records a result under its key; when a concurrent request with the same key won, returns that one instead.</summary>
    private async Task<(GatewayResult Result, bool IsNew)> RecordAsync(
        string idempotencyKey, string operation, GatewayResult result, Money amount, string paymentToken, CancellationToken cancellationToken)
    {
        var record = new PendingRecord(idempotencyKey, operation, result, amount, paymentToken);
        _records.Add(record);
        if (await record.Inserted.Task.WaitAsync(cancellationToken))
        {
            return (result, true);
        }

        // Another request under the key was recorded first (its answer is the one to give), or, when none is found,
        // the first one's write failed and nothing is recorded: like a provider that cannot answer, try again later.
        return (await LookupAsync(idempotencyKey, cancellationToken)
            ?? throw new PaymentGatewayUnavailableException("The payment provider could not record the request (simulated)."), false);
    }

    /// <summary>Records answers under distinct keys in one statement; each learns whether its row is the one kept.</summary>
    private async Task InsertRecordsAsync(IReadOnlyList<PendingRecord> records)
    {
        await using var command = _dataSource.CreateCommand(
            """
            insert into psp_simulator.operations (idempotency_key, operation, payment_ref, payment_token, amount, currency, outcome, reason, created_at)
            select r.idempotency_key, r.operation, r.payment_ref, r.payment_token, r.amount, r.currency, r.outcome, r.reason, $9
              from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::numeric[], $6::text[], $7::text[], $8::text[])
                   with ordinality as r(idempotency_key, operation, payment_ref, payment_token, amount, currency, outcome, reason, n)
             order by r.n
            on conflict (idempotency_key) do nothing
            returning idempotency_key
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.IdempotencyKey)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.Operation)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.Result.ProviderReference)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.PaymentToken)] });
        command.Parameters.Add(new NpgsqlParameter<decimal[]> { TypedValue = [.. records.Select(r => r.Amount.Amount)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.Amount.Currency)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. records.Select(r => r.Result.Outcome == GatewayOutcome.Approved ? "approved" : "declined")] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. records.Select(r => r.Result.Reason)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        var inserted = await KeyedGroups.ReturnedKeysAsync(command);
        foreach (var record in records)
        {
            record.Inserted.TrySetResult(inserted.Contains(record.IdempotencyKey));
        }
    }

    private sealed record PendingRecord(string IdempotencyKey, string Operation, GatewayResult Result, Money Amount, string PaymentToken) : IGroupedRequest
    {
        public TaskCompletionSource<bool> Inserted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Inserted.TrySetException(exception);
    }
}
