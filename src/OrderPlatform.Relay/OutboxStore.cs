using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.Relay;

/// <summary>The relay's SQL: read unpublished rows of some shares in order, mark published rows or delete them, purge old ones.</summary>
public sealed class OutboxStore(NpgsqlDataSource dataSource)
{
    /// <summary>The share of a stream: the same on every silo, so one stream is always published by one relay at a time.</summary>
    public const string ShareOf = "((hashtext(o.stream_id) & 2147483647) % $1)";

    /// <summary>
    /// Reads up to <paramref name="limit"/> unpublished rows of the given shares with ids from <paramref name="fromId"/> on,
    /// in id order, with what <see cref="ScanFloor"/> needs of the same snapshot: its xmin and the highest outbox id it sees.
    /// </summary>
    public async Task<OutboxRead> ReadUnpublishedAsync(int shareCount, IReadOnlyCollection<int> shares, long fromId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            with horizon as materialized (
                select pg_snapshot_xmin(pg_current_snapshot())::text::bigint as xmin, coalesce((select max(id) from outbox), 0) as max_id)
            select h.xmin, h.max_id, r.*
              from horizon h
              left join lateral (
                select o.id, o.stream_id, o.version, o.aggregate_type, e.event_id, e.event_type, e.schema_version,
                       e.data::text, case when jsonb_typeof(e.metadata->'correlationId') = 'string' then e.metadata->>'correlationId' end,
                       e.recorded_at, o.created_at
                  from outbox o
                  join events e on e.global_position = o.global_position
                 where o.published_at is null and o.id >= $4 and {ShareOf} = any($2)
                 order by o.id
                 limit $3) r on true
            """);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shareCount });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. shares] });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fromId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxRow>();
        long xmin = 0, maxId = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            (xmin, maxId) = (reader.GetInt64(0), reader.GetInt64(1));
            if (reader.IsDBNull(2))
            {
                break;
            }

            rows.Add(new OutboxRow(
                reader.GetInt64(2), reader.GetString(3), reader.GetInt32(4), reader.GetString(5), reader.GetGuid(6), reader.GetString(7),
                reader.GetInt32(8), reader.GetString(9), reader.IsDBNull(10) ? null : reader.GetString(10), reader.GetFieldValue<DateTimeOffset>(11),
                reader.GetFieldValue<DateTimeOffset>(12)));
        }

        return new OutboxRead(rows, xmin, maxId);
    }

    /// <summary>Marks the rows published and returns the id of the transaction that did it (see <see cref="ScanFloor"/>).</summary>
    public async Task<long> MarkPublishedAsync(IReadOnlyCollection<long> ids, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            with marked as (update outbox set published_at = $2 where id = any($1) and published_at is null returning 1)
            select pg_current_xact_id()::text::bigint from (select count(*) from marked) m
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Deletes the published rows and returns the id of the transaction that did it (see <see cref="ScanFloor"/>).</summary>
    public async Task<long> DeletePublishedAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            with deleted as (delete from outbox where id = any($1) and published_at is null returning 1)
            select pg_current_xact_id()::text::bigint from (select count(*) from deleted) d
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// The unpublished rows, counted from the oldest up to <paramref name="limit"/> (<c>Capped</c> when there are more), and
    /// when the oldest of them was written. Both walk the unpublished-rows index from its start (sql/0013), so neither reads
    /// more than <paramref name="limit"/> rows however long the backlog (a plain count read every one, and dead rows too).
    /// The oldest is the row with the lowest id: rows get their ids in the order they are inserted, so its time is within
    /// the few milliseconds that concurrent appends take of the smallest time of any unpublished row.
    /// </summary>
    public async Task<(long Backlog, bool Capped, DateTimeOffset? Oldest)> BacklogAsync(int limit, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        await using var command = dataSource.CreateCommand("select waiting, oldest from outbox_backlog($1)");
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = limit + 1L });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var counted = reader.GetInt64(0);
        return (Math.Min(counted, limit), counted > limit, reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Deletes published rows older than the cut-off, in bounded chunks so a large purge never holds long locks.</summary>
    public async Task<int> PurgePublishedAsync(DateTimeOffset publishedBefore, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            await using var command = dataSource.CreateCommand(
                "delete from outbox where id in (select id from outbox where published_at < $1 order by published_at limit 5000)");
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = publishedBefore, NpgsqlDbType = NpgsqlDbType.TimestampTz });
            var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
            if (deleted < 5000)
            {
                return total;
            }
        }
    }
}
