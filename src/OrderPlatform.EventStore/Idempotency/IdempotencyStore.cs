using Npgsql;
using NpgsqlTypes;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.EventStore.Idempotency;

/// <summary>The response stored under an idempotency key, replayed to every retry with the same request.</summary>
public sealed record StoredResponse(int StatusCode, string? ContentType, string? Location, string? Body);

public enum ClaimOutcome
{
    /// <summary>This caller owns the key now and must run the request, then complete or release the claim.</summary>
    Claimed,
    /// <summary>The request ran before; replay <see cref="ClaimResult.Response"/>.</summary>
    Completed,
    /// <summary>Another caller is running the same request right now.</summary>
    InProgress,
    /// <summary>The key was used with a different request.</summary>
    Mismatch,
}

public sealed record ClaimResult(ClaimOutcome Outcome, StoredResponse? Response = null);

/// <summary>An idempotency key for the transaction of its request's effect to claim (<see cref="IdempotencyStore.ClaimCompletedCommand"/>).</summary>
public sealed record KeyToClaim(string Key, byte[] RequestHash, DateTimeOffset ExpiresAt);

/// <summary>Running totals of an idempotency store: sample twice and difference them for group sizes.</summary>
public sealed record IdempotencyCounters(long Claims, long ClaimStatements, long Completions, long CompletionStatements);

/// <summary>
/// Idempotency keys claimed with a unique insert (never check-then-insert). A claim carries a lease, so the
/// key of a request whose silo died mid-flight can be taken over by a retry once the lease ran out.
/// </summary>
public sealed class IdempotencyStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly IdempotencyStoreOptions _options;
    private readonly StatementGroups<PendingClaim> _claims;
    private readonly StatementGroups<PendingCompletion> _completions;
    private long _claimCount;
    private long _claimStatements;
    private long _completionCount;
    private long _completionStatements;

    // grouping: how long a small group of claims or responses waits for company (none when not given).
    public IdempotencyStore(NpgsqlDataSource dataSource, TimeProvider time, IdempotencyStoreOptions options, EventStoreOptions? grouping = null)
    {
        _dataSource = dataSource;
        _time = time;
        _options = options;
        var linger = grouping?.Linger();
        _claims = new StatementGroups<PendingClaim>(WriteClaimsAsync, maxRunning: 2, maxPerGroup: 256, linger: linger);
        _completions = new StatementGroups<PendingCompletion>(WriteCompletionsAsync, maxRunning: 2, maxPerGroup: 256, linger: linger);
    }

    /// <summary>
    /// Claims <paramref name="key"/> for a request with <paramref name="requestHash"/>: inserts it, or takes over a row
    /// that expired or whose in-flight lease ran out with the same request. Claims that arrive together share one
    /// statement and one transaction; each still learns whether its own key was claimed.
    /// </summary>
    public async Task<ClaimResult> ClaimAsync(string key, byte[] requestHash, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var claim = new PendingClaim(key, requestHash);
        _claims.Add(claim);
        // A cancelled caller stops waiting; the statement that carries its claim runs on for the others.
        if (await claim.Claimed.Task.WaitAsync(cancellationToken).ConfigureAwait(false))
        {
            return new ClaimResult(ClaimOutcome.Claimed);
        }

        await using var read = _dataSource.CreateCommand(
            "select request_hash, completed, status_code, content_type, location, response_body from idempotency_keys where idempotency_key = $1");
        read.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            // Purged between the two statements: claim again.
            await reader.DisposeAsync().ConfigureAwait(false);
            return await ClaimAsync(key, requestHash, cancellationToken).ConfigureAwait(false);
        }

        if (!reader.GetFieldValue<byte[]>(0).AsSpan().SequenceEqual(requestHash))
        {
            return new ClaimResult(ClaimOutcome.Mismatch);
        }

        if (!reader.GetBoolean(1))
        {
            return new ClaimResult(ClaimOutcome.InProgress);
        }

        return new ClaimResult(ClaimOutcome.Completed, new StoredResponse(
            reader.GetInt32(2),
            reader.IsDBNull(3) ? null : reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetString(5)));
    }

    /// <summary>
    /// Tries a group of claims in one statement and settles each with whether its key is now claimed. A later claim
    /// of a key already in the group is not claimed: it reads the row and sees the first one in progress, or another
    /// request's.
    /// </summary>
    private Task WriteClaimsAsync(IReadOnlyList<PendingClaim> group)
    {
        Interlocked.Add(ref _claimCount, group.Count);
        Interlocked.Increment(ref _claimStatements);
        return KeyedGroups.WriteAsync(group, c => c.Key, c => c.Claimed.TrySetResult(false), InsertClaimsAsync);
    }

    /// <summary>One statement for claims of distinct keys, in the order given; settles each.</summary>
    private async Task InsertClaimsAsync(IReadOnlyList<PendingClaim> claims)
    {
        var now = _time.GetUtcNow();
        await using var command = _dataSource.CreateCommand(
            """
            insert into idempotency_keys (idempotency_key, request_hash, completed, created_at, expires_at, lease_until)
            select c.idempotency_key, c.request_hash, false, $3, $4, $5
              from unnest($1::text[], $2::bytea[]) with ordinality as c(idempotency_key, request_hash, n)
             order by c.n
            on conflict (idempotency_key) do update
               set request_hash = excluded.request_hash, completed = false, status_code = null, content_type = null,
                   location = null, response_body = null, created_at = excluded.created_at,
                   expires_at = excluded.expires_at, lease_until = excluded.lease_until
             where idempotency_keys.expires_at <= $3
                or (not idempotency_keys.completed and idempotency_keys.lease_until <= $3
                    and idempotency_keys.request_hash = excluded.request_hash)
            returning idempotency_key
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. claims.Select(c => c.Key)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. claims.Select(c => c.RequestHash)] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + _options.Retention, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now + _options.Lease, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        var claimed = await KeyedGroups.ReturnedKeysAsync(command).ConfigureAwait(false);
        foreach (var claim in claims)
        {
            claim.Claimed.TrySetResult(claimed.Contains(claim.Key));
        }
    }

    private sealed record PendingClaim(string Key, byte[] RequestHash) : IGroupedRequest
    {
        public TaskCompletionSource<bool> Claimed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Claimed.TrySetException(exception);
    }

    /// <summary>
    /// Stores the response under the claimed key. Completions that arrive together (many orders placed at once) share
    /// one statement and one transaction; each waits until its own row is written.
    /// </summary>
    public Task CompleteAsync(string key, StoredResponse response, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var completion = new PendingCompletion(key, response);
        _completions.Add(completion);
        return cancellationToken.CanBeCanceled ? completion.Written.Task.WaitAsync(cancellationToken) : completion.Written.Task;
    }

    /// <summary>
    /// Stores the response under a claimed key as part of another transaction: the one that records the request's
    /// effect, so that the effect and the response commit together (or neither does).
    /// </summary>
    public static IRowAlongside CompleteCommand(string key, StoredResponse response) => new CompletionAlongside(key, response);

    /// <summary>
    /// Claims <paramref name="key"/>, completed with <paramref name="response"/>, as part of another transaction: the one
    /// that records the request's effect, so that the whole request commits once. A key in use (claimed, completed, or
    /// expired and not purged yet) refuses the insert and so that whole transaction: nothing of the request is written,
    /// <see cref="IsKeyInUse"/> tells that refusal from others, and the caller then claims the key with
    /// <see cref="ClaimAsync"/>, which replays, refuses, waits or takes the key over.
    /// </summary>
    public static IRowAlongside ClaimCompletedCommand(string key, byte[] requestHash, StoredResponse response, DateTimeOffset now, DateTimeOffset expiresAt) =>
        new ClaimCompletedAlongside(key, requestHash, response, now, expiresAt);

    /// <summary>Whether <paramref name="exception"/> is the refusal of a key claimed with an effect because the key is in use.</summary>
    public static bool IsKeyInUse(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "idempotency_keys_pkey" };

    /// <summary>The key, its request's hash and its expiry, for a request whose effect claims its key itself.</summary>
    public KeyToClaim ToClaimWithEffect(string key, byte[] requestHash) => new(key, requestHash, _time.GetUtcNow() + _options.Retention);

    /// <summary>
    /// One statement that stores each response under its key, unless the key's response is stored already. A key given
    /// twice keeps its first response; keys go in sorted order, so two statements lock the rows they share in the same order.
    /// </summary>
    private static NpgsqlBatchCommand CompletionsCommand(IEnumerable<(string Key, StoredResponse Response)> completions)
    {
        var first = new SortedDictionary<string, StoredResponse>(StringComparer.Ordinal);
        foreach (var (key, response) in completions)
        {
            first.TryAdd(key, response);
        }

        var command = new NpgsqlBatchCommand(
            """
            update idempotency_keys k
               set completed = true, status_code = c.status_code, content_type = c.content_type, location = c.location,
                   response_body = c.response_body
              from unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[])
                   as c(idempotency_key, status_code, content_type, location, response_body)
             where k.idempotency_key = c.idempotency_key and not k.completed
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. first.Keys] });
        AddResponses(command, first.Values);
        return command;
    }

    /// <summary>Four array parameters, in this order: the responses' status codes, content types, locations and bodies.</summary>
    private static void AddResponses(NpgsqlBatchCommand command, IEnumerable<StoredResponse> responses)
    {
        var list = responses.ToList();
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. list.Select(r => r.StatusCode)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. list.Select(r => r.ContentType)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. list.Select(r => r.Location)] });
        command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. list.Select(r => r.Body)] });
    }

    /// <summary>How many keys were claimed and responses stored since this store was made, and in how many statements.</summary>
    public IdempotencyCounters Counters => new(
        Interlocked.Read(ref _claimCount), Interlocked.Read(ref _claimStatements), Interlocked.Read(ref _completionCount), Interlocked.Read(ref _completionStatements));

    /// <summary>
    /// Writes a group of completions in one statement and settles each. A failure propagates: the grouping fails every
    /// completion of the group with it.
    /// </summary>
    private async Task WriteCompletionsAsync(IReadOnlyList<PendingCompletion> group)
    {
        Interlocked.Add(ref _completionCount, group.Count);
        Interlocked.Increment(ref _completionStatements);
        await using var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(CompletionsCommand(group.Select(c => (c.Key, c.Response))));
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
        foreach (var completion in group)
        {
            completion.Written.TrySetResult();
        }
    }

    private sealed record PendingCompletion(string Key, StoredResponse Response) : IGroupedRequest
    {
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Written.TrySetException(exception);
    }

    /// <summary>A response stored in the transaction of an append; those of a group commit share one statement.</summary>
    private sealed record CompletionAlongside(string Key, StoredResponse Response) : IRowAlongside
    {
        public NpgsqlBatchCommand WriteAll(IReadOnlyList<IRowAlongside> rows) =>
            CompletionsCommand(rows.Cast<CompletionAlongside>().Select(c => (c.Key, c.Response)));
    }

    /// <summary>
    /// Keys claimed with their effects: those of a group commit share one plain insert, in key order (two statements that
    /// share keys lock them in the same order). A key given twice, or one in use, fails the statement.
    /// </summary>
    private sealed record ClaimCompletedAlongside(string Key, byte[] RequestHash, StoredResponse Response, DateTimeOffset Now, DateTimeOffset ExpiresAt)
        : IRowAlongside
    {
        public NpgsqlBatchCommand WriteAll(IReadOnlyList<IRowAlongside> rows)
        {
            var claims = rows.Cast<ClaimCompletedAlongside>().OrderBy(c => c.Key, StringComparer.Ordinal).ToList();
            var command = new NpgsqlBatchCommand(
                """
                insert into idempotency_keys
                       (idempotency_key, request_hash, completed, status_code, content_type, location, response_body, created_at, expires_at, lease_until)
                select c.idempotency_key, c.request_hash, true, c.status_code, c.content_type, c.location, c.response_body, c.created_at, c.expires_at, c.created_at
                  from unnest($1::text[], $2::bytea[], $3::int[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
                       with ordinality as c(idempotency_key, request_hash, status_code, content_type, location, response_body, created_at, expires_at, n)
                 order by c.n
                """);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. claims.Select(c => c.Key)] });
            command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. claims.Select(c => c.RequestHash)] });
            AddResponses(command, claims.Select(c => c.Response));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. claims.Select(c => c.Now)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]> { TypedValue = [.. claims.Select(c => c.ExpiresAt)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
            return command;
        }
    }

    /// <summary>Gives the key back after a failure that had no effect worth replaying, so a retry runs the request again.</summary>
    public async Task ReleaseAsync(string key, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("delete from idempotency_keys where idempotency_key = $1 and not completed");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> PurgeExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("delete from idempotency_keys where expires_at <= $1");
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

public sealed class IdempotencyStoreOptions
{
    /// <summary>How long a completed response is replayed before its key may be used again.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long an in-flight request holds its key before a retry may take it over.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);
}
