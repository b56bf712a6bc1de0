using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.EventStore.Sagas;

/// <summary>
/// The sagas table: which sagas are unfinished and when each next wants to run. It is written in the same
/// transaction as the saga's events, so after a crash any silo can find the sagas to resume.
/// </summary>
public sealed class SagaIndex(NpgsqlDataSource dataSource)
{
    public static NpgsqlBatchCommand Upsert(Guid orderId, bool finished, string? outcome, DateTimeOffset? wakeAt, DateTimeOffset now)
    {
        var command = new NpgsqlBatchCommand(
            """
            insert into sagas (order_id, finished, outcome, wake_at, started_at, updated_at)
            values ($1, $2, $3, $4, $5, $5)
            on conflict (order_id) do update
               set finished = excluded.finished, outcome = excluded.outcome, wake_at = excluded.wake_at, updated_at = excluded.updated_at
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = orderId });
        command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = finished });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)outcome ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)wakeAt ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        return command;
    }

    /// <summary>
    /// Unfinished sagas that look stalled: nothing recorded since <paramref name="quietSince"/> and not waiting
    /// for a later retry. A healthy saga that is picked up anyway only gets a harmless extra nudge.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> StalledAsync(DateTimeOffset quietSince, DateTimeOffset now, int limit, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            select order_id from sagas
             where not finished and updated_at < $1 and (wake_at is null or wake_at <= $2)
             order by updated_at
             limit $3
            """);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = quietSince, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var ids = new List<Guid>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            ids.Add(reader.GetGuid(0));
        }

        return ids;
    }
}
