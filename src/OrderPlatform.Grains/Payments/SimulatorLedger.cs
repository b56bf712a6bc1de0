using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.Grains.Payments;

/// <summary>An answer the simulated provider gave, under the request's idempotency key.</summary>
public sealed record SimulatorOperation(string IdempotencyKey, string Operation, GatewayResult Result, Money Amount, string PaymentToken);

/// <summary>
/// What a capture needs to know, read in one look: the answer already given under its key (<see cref="Earlier"/>), the
/// approved authorization's token (null when no authorization with that reference was approved), and whether that
/// authorization was voided or captured already.
/// </summary>
public sealed record CaptureState(GatewayResult? Earlier, string? Token, bool Voided, bool Captured);

/// <summary>The names <c>PaymentGateway:SimulatorLedger</c> takes.</summary>
public static class SimulatorLedgers
{
    public const string Postgres = "postgres";

    public const string Memory = "memory";
}

/// <summary>Where the simulated provider keeps what it answered: one answer per idempotency key, for good.</summary>
public interface ISimulatorLedger
{
    /// <summary>Where it keeps them: one of <see cref="SimulatorLedgers"/>' names.</summary>
    string Kind { get; }

    /// <summary>Records <paramref name="operation"/>; false when its key holds an answer already (that one stands).</summary>
    Task<bool> RecordAsync(SimulatorOperation operation, CancellationToken cancellationToken);

    /// <summary>The answer recorded under the key, or null.</summary>
    Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Counts one more failed attempt under the key and returns the count so far.</summary>
    Task<int> CountFailureAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>In one look: the answer already given under the key, the authorization's token, and whether it was voided or captured.</summary>
    Task<CaptureState> CaptureStateAsync(
        string idempotencyKey, string providerReference, CancellationToken cancellationToken);

    /// <summary>The token of the approved authorization with this reference, or null.</summary>
    Task<string?> AuthorizationTokenAsync(string providerReference, CancellationToken cancellationToken);

    /// <summary>Whether an approved <paramref name="operation"/> is recorded for the reference.</summary>
    Task<bool> HasApprovedAsync(string providerReference, string operation, CancellationToken cancellationToken);
}

/// <summary>
/// The ledger in PostgreSQL (schema psp_simulator), shared by every silo and surviving them all. Answers recorded at
/// the same time share one statement and one transaction, so that the stand-in for a remote provider does not cost
/// the platform's database a commit per call.
/// </summary>
public sealed class PostgresSimulatorLedger : ISimulatorLedger
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly StatementGroups<PendingRecord> _records;
    private readonly StatementGroups<PendingCaptureLook> _captureLooks;

    // grouping: how long a small group of answers waits for company (none when not given). Like the appends, a second
    // statement starts beside a running one only once 16 requests wait for it: below that they leave together.
    public PostgresSimulatorLedger(NpgsqlDataSource dataSource, TimeProvider time, EventStoreOptions? grouping = null)
    {
        _dataSource = dataSource;
        _time = time;
        _records = new StatementGroups<PendingRecord>(
            group => KeyedGroups.WriteAsync(group, r => r.Operation.IdempotencyKey, r => r.Inserted.TrySetResult(false), InsertRecordsAsync),
            maxRunning: 2,
            maxPerGroup: 256,
            waitingForAnother: WaitingForAnother,
            linger: grouping?.Linger(),
            timings: AnswerTimings);
        _captureLooks = new StatementGroups<PendingCaptureLook>(
            ReadCaptureStatesAsync, maxRunning: 2, maxPerGroup: 256, waitingForAnother: WaitingForAnother, timings: CaptureLookTimings);
    }

    /// <summary>How many requests must wait before a second statement starts beside a running one.</summary>
    private const int WaitingForAnother = 16;

    public string Kind => SimulatorLedgers.Postgres;

    /// <summary>How long the recorded answers waited for their group's statement, and how long it took with its commit.</summary>
    public WriteTimings AnswerTimings { get; } = new(TimeProvider.System);

    /// <summary>How long captures waited for the statement that looks up their authorizations, and how long it took.</summary>
    public WriteTimings CaptureLookTimings { get; } = new(TimeProvider.System);

    public async Task<bool> RecordAsync(SimulatorOperation operation, CancellationToken cancellationToken)
    {
        var record = new PendingRecord(operation);
        _records.Add(record);
        return await record.Inserted.Task.WaitAsync(cancellationToken);
    }

    public async Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand("select outcome, payment_ref, reason from psp_simulator.operations where idempotency_key = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? RecordedResult(reader) : null;
    }

    public async Task<int> CountFailureAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            """
            insert into psp_simulator.attempts (idempotency_key, failures) values ($1, 1)
            on conflict (idempotency_key) do update set failures = psp_simulator.attempts.failures + 1
            returning failures
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = idempotencyKey });
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Captures looked up at the same time share one statement: the capture's look is one per order.</summary>
    public async Task<CaptureState> CaptureStateAsync(
        string idempotencyKey, string providerReference, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var look = new PendingCaptureLook(idempotencyKey, providerReference);
        _captureLooks.Add(look);
        return await look.State.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Reads the capture state of every look in the group with one statement, in the group's order.</summary>
    private async Task ReadCaptureStatesAsync(IReadOnlyList<PendingCaptureLook> looks)
    {
        await using var command = _dataSource.CreateCommand(
            """
            select e.outcome, e.payment_ref, e.reason,
                   (select payment_token from psp_simulator.operations where payment_ref = r.payment_ref and operation = 'authorize' and outcome = 'approved'),
                   exists (select 1 from psp_simulator.operations where payment_ref = r.payment_ref and operation = 'void' and outcome = 'approved'),
                   exists (select 1 from psp_simulator.operations where payment_ref = r.payment_ref and operation = 'capture' and outcome = 'approved'),
                   r.n
              from unnest($1::text[], $2::text[]) with ordinality as r(idempotency_key, payment_ref, n)
              left join psp_simulator.operations e on e.idempotency_key = r.idempotency_key
             order by r.n
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. looks.Select(l => l.IdempotencyKey)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. looks.Select(l => l.ProviderReference)] });
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var earlier = reader.IsDBNull(0) ? null : RecordedResult(reader);
            looks[(int)reader.GetInt64(6) - 1].State.TrySetResult(
                new CaptureState(earlier, reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetBoolean(4), reader.GetBoolean(5)));
        }

        // Every look whose row came back is answered already, and failing it again changes nothing (TrySetException);
        // a look without its row fails here rather than leaving its capture waiting.
        foreach (var look in looks)
        {
            look.Fail(new InvalidOperationException("The capture state was not read."));
        }
    }

    public async Task<string?> AuthorizationTokenAsync(string providerReference, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "select payment_token from psp_simulator.operations where payment_ref = $1 and operation = 'authorize' and outcome = 'approved'");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = providerReference });
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<bool> HasApprovedAsync(string providerReference, string operation, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand(
            "select exists (select 1 from psp_simulator.operations where payment_ref = $1 and operation = $2 and outcome = 'approved')");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = providerReference });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = operation });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>An answer recorded in the operations table, from the columns outcome, payment_ref and reason (first, in that order).</summary>
    private static GatewayResult RecordedResult(NpgsqlDataReader reader) => new(
        reader.GetString(0) == "approved" ? GatewayOutcome.Approved : GatewayOutcome.Declined,
        reader.GetString(1),
        reader.IsDBNull(2) ? null : reader.GetString(2));

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
        var operations = records.Select(r => r.Operation).ToList();
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.IdempotencyKey)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.Operation)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.Result.ProviderReference)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.PaymentToken)] });
        command.Parameters.Add(new NpgsqlParameter<decimal[]> { TypedValue = [.. operations.Select(o => o.Amount.Amount)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.Amount.Currency)] });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. operations.Select(o => o.Result.Outcome == GatewayOutcome.Approved ? "approved" : "declined")] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. operations.Select(o => o.Result.Reason)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        var inserted = await KeyedGroups.ReturnedKeysAsync(command);
        foreach (var record in records)
        {
            record.Inserted.TrySetResult(inserted.Contains(record.Operation.IdempotencyKey));
        }
    }

    private sealed record PendingRecord(SimulatorOperation Operation) : IGroupedRequest
    {
        public TaskCompletionSource<bool> Inserted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Inserted.TrySetException(exception);
    }

    private sealed record PendingCaptureLook(string IdempotencyKey, string ProviderReference) : IGroupedRequest
    {
        public TaskCompletionSource<CaptureState> State { get; } =
            new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => State.TrySetException(exception);
    }
}

/// <summary>
/// The ledger in this silo's memory: what the simulated provider costs when it runs somewhere else, as a real one does
/// (its ledger is not written to the platform's database). It holds one silo's answers until the silo stops, so it
/// suits one silo that is not restarted: a benchmark of the platform's own cost. A retry on another silo, or after a
/// restart, would get a second answer; chaos runs and the invariant checker need the ledger in PostgreSQL. It keeps
/// every answer (about 0.5 KB an order), which a benchmark's run bounds.
/// </summary>
public sealed class MemorySimulatorLedger : ISimulatorLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, SimulatorOperation> _byKey = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<SimulatorOperation>> _byReference = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failures = new(StringComparer.Ordinal);

    public string Kind => SimulatorLedgers.Memory;

    public Task<bool> RecordAsync(SimulatorOperation operation, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_byKey.TryAdd(operation.IdempotencyKey, operation))
            {
                return Task.FromResult(false);
            }

            if (!_byReference.TryGetValue(operation.Result.ProviderReference, out var ofReference))
            {
                _byReference[operation.Result.ProviderReference] = ofReference = [];
            }

            ofReference.Add(operation);
            return Task.FromResult(true);
        }
    }

    public Task<GatewayResult?> LookupAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(_byKey.TryGetValue(idempotencyKey, out var operation) ? operation.Result : null);
        }
    }

    public Task<int> CountFailureAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var count = _failures.GetValueOrDefault(idempotencyKey) + 1;
            _failures[idempotencyKey] = count;
            return Task.FromResult(count);
        }
    }

    public Task<CaptureState> CaptureStateAsync(
        string idempotencyKey, string providerReference, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var earlier = _byKey.TryGetValue(idempotencyKey, out var operation) ? operation.Result : null;
            return Task.FromResult(new CaptureState(earlier, Approved(providerReference, "authorize")?.PaymentToken,
                Approved(providerReference, "void") is not null, Approved(providerReference, "capture") is not null));
        }
    }

    public Task<string?> AuthorizationTokenAsync(string providerReference, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Approved(providerReference, "authorize")?.PaymentToken);
        }
    }

    public Task<bool> HasApprovedAsync(string providerReference, string operation, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Approved(providerReference, operation) is not null);
        }
    }

    /// <summary>The approved <paramref name="operation"/> recorded for the reference, if any; called under the lock.</summary>
    private SimulatorOperation? Approved(string providerReference, string operation) =>
        _byReference.TryGetValue(providerReference, out var ofReference)
            ? ofReference.Find(o => o.Operation == operation && o.Result.Outcome == GatewayOutcome.Approved)
            : null;
}
