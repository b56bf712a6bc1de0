using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.EventStore.Events;

/// <summary>
/// Append-only event streams in PostgreSQL. An append writes the events and their outbox rows in one
/// statement (one transaction); optimistic concurrency comes from the version guard (sql/0006) and the
/// (stream_id, version) unique key.
/// </summary>
public sealed class PostgresEventStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    /// <summary>SQLSTATE raised by events_expect_version when the stream is not at the expected version.</summary>
    private const string VersionConflictState = "OP409";

    // Evaluated once per append: fails the statement (and its transaction) unless the stream is at $2.
    private const string GuardSql = "with guard as materialized (select events_expect_version($1, $2) as ok)";

    private const string InsertEventsSql = """
        insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
        select $1, $2 + e.ord, e.event_id, e.event_type, e.schema_version, e.data::jsonb, e.metadata::jsonb, $8
        from guard, unnest($3::uuid[], $4::text[], $5::int[], $6::text[], $7::text[])
             with ordinality as e(event_id, event_type, schema_version, data, metadata, ord)
        where guard.ok
        """;

    private const string AppendSql = GuardSql + ",\nappended as (\n" + InsertEventsSql + """

        returning global_position, stream_id, version
        )
        insert into outbox (global_position, stream_id, version, aggregate_type, created_at)
        select global_position, stream_id, version, $9, $8 from appended
        """;

    // Streams that are internal bookkeeping (the saga's step log) are stored but not announced in the outbox.
    private const string AppendUnpublishedSql = GuardSql + "\n" + InsertEventsSql;

    public NpgsqlDataSource DataSource => dataSource;

    public async Task<IReadOnlyList<StoredEvent>> ReadStreamAsync(string streamId, int afterVersion = 0, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select version, event_id, event_type, schema_version, data::text, metadata::text, recorded_at, global_position
            from events where stream_id = $1 and version > $2 order by version
            """);
        command.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = afterVersion });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            events.Add(new StoredEvent(
                streamId,
                reader.GetInt32(0),
                reader.GetGuid(1),
                reader.GetString(2),
                reader.GetInt32(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.GetFieldValue<DateTimeOffset>(6),
                reader.GetInt64(7)));
        }

        return events;
    }

    /// <summary>
    /// Appends <paramref name="events"/> after <paramref name="expectedVersion"/> and returns the new version.
    /// <paramref name="alongside"/> are further statements committed in the same transaction (for example the saga index).
    /// Unless <paramref name="publish"/> is false, every event gets an outbox row in the same transaction.
    /// </summary>
    /// <exception cref="ConcurrencyConflictException">Another writer appended first.</exception>
    public async Task<int> AppendAsync(
        string streamId,
        string aggregateType,
        int expectedVersion,
        IReadOnlyList<EventToAppend> events,
        IReadOnlyList<NpgsqlBatchCommand>? alongside = null,
        bool publish = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        if (events.Count == 0)
        {
            return expectedVersion;
        }

        var append = new NpgsqlBatchCommand(publish ? AppendSql : AppendUnpublishedSql);
        append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        append.Parameters.Add(new NpgsqlParameter<int> { TypedValue = expectedVersion });
        append.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. events.Select(e => e.EventId)] });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.EventType)] });
        append.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. events.Select(e => e.SchemaVersion)] });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.Data)] });
        append.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. events.Select(e => e.Metadata)] });
        append.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        if (publish)
        {
            append.Parameters.Add(new NpgsqlParameter<string> { TypedValue = aggregateType });
        }

        // A batch runs in one implicit transaction: the events, their outbox rows and the side statements commit
        // together, and a failed version check aborts them all.
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(append);
        foreach (var command in alongside ?? [])
        {
            batch.BatchCommands.Add(command);
        }

        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (e.SqlState == VersionConflictState
            || (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "events_stream_version"))
        {
            throw new ConcurrencyConflictException(streamId, expectedVersion);
        }

        return expectedVersion + events.Count;
    }

    /// <summary>Which of the given streams exist (have at least one event).</summary>
    public async Task<IReadOnlySet<string>> ExistingStreamsAsync(IReadOnlyCollection<string> streamIds, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("select stream_id from events where stream_id = any($1) and version = 1");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. streamIds] });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var found = new HashSet<string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(reader.GetString(0));
        }

        return found;
    }
}
