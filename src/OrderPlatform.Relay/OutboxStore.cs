using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.Relay;

/// <summary>The relay's SQL: read unpublished rows of some shares in order, mark rows published, purge old ones.</summary>
public sealed class OutboxStore(NpgsqlDataSource dataSource)
{
    /// <summary>The share of a stream: the same on every silo, so one stream is always published by one relay at a time.</summary>
    public const string ShareOf = "((hashtext(o.stream_id) & 2147483647) % $1)";

    public async Task<IReadOnlyList<OutboxRow>> ReadUnpublishedAsync(int shareCount, IReadOnlyCollection<int> shares, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select o.id, o.stream_id, o.version, o.aggregate_type, e.event_id, e.event_type, e.schema_version,
                   e.data::text, e.metadata::text, e.recorded_at, o.created_at
              from outbox o
              join events e on e.global_position = o.global_position
             where o.published_at is null and {ShareOf} = any($2)
             order by o.id
             limit $3
            """);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shareCount });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. shares] });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutboxRow(
                reader.GetInt64(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetGuid(4), reader.GetString(5),
                reader.GetInt32(6), reader.GetString(7), reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(9), reader.GetFieldValue<DateTimeOffset>(10)));
        }

        return rows;
    }

    public async Task MarkPublishedAsync(IReadOnlyCollection<long> ids, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("update outbox set published_at = $2 where id = any($1) and published_at is null");
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = [.. ids] });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = at, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<(long Backlog, DateTimeOffset? Oldest)> BacklogAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select count(*), min(created_at) from outbox where published_at is null");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
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
