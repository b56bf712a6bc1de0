using Npgsql;
using NpgsqlTypes;
using OrderPlatform.EventStore.Events;

namespace OrderPlatform.EventStore.Sagas;

/// <summary>
/// The sagas table: which sagas are unfinished and when each next wants to run. It is written in the same
/// transaction as the saga's events, so after a crash any silo can find the sagas to resume.
/// </summary>
public sealed class SagaIndex(NpgsqlDataSource dataSource)
{
    /// <summary>The saga's row, to write in the same transaction as an append of the saga's events.</summary>
    public static IRowAlongside Upsert(Guid orderId, bool finished, string? outcome, DateTimeOffset? wakeAt, DateTimeOffset now) =>
        new Entry(orderId, finished, outcome, wakeAt, now);

    /// <summary>One saga's row; the rows of a group commit are written by one statement.</summary>
    private sealed record Entry(Guid OrderId, bool Finished, string? Outcome, DateTimeOffset? WakeAt, DateTimeOffset UpdatedAt) : IRowAlongside
    {
        public NpgsqlBatchCommand WriteAll(IReadOnlyList<IRowAlongside> rows)
        {
            // A saga written twice in one group keeps its later row, as two statements in a row would; the rows go in
            // the order of their ids, so two groups lock the rows they share in the same order.
            var latest = new SortedDictionary<Guid, Entry>();
            foreach (var row in rows.Cast<Entry>())
            {
                latest[row.OrderId] = row;
            }

            var command = new NpgsqlBatchCommand(
                """
                insert into sagas (order_id, finished, outcome, wake_at, started_at, updated_at)
                select r.order_id, r.finished, r.outcome, r.wake_at, r.updated_at, r.updated_at
                  from unnest($1::uuid[], $2::boolean[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                       with ordinality as r(order_id, finished, outcome, wake_at, updated_at, n)
                 order by r.n
                on conflict (order_id) do update
                   set finished = excluded.finished, outcome = excluded.outcome, wake_at = excluded.wake_at, updated_at = excluded.updated_at
                """);
            var entries = latest.Values;
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. entries.Select(e => e.OrderId)] });
            command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = [.. entries.Select(e => e.Finished)] });
            command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = [.. entries.Select(e => e.Outcome)] });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?[]>
            {
                TypedValue = [.. entries.Select(e => e.WakeAt)],
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
            });
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>
            {
                TypedValue = [.. entries.Select(e => e.UpdatedAt)],
                NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz,
            });
            return command;
        }
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
