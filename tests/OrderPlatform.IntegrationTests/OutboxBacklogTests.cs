using OrderPlatform.IntegrationTests.Infrastructure;
using OrderPlatform.Relay;

namespace OrderPlatform.IntegrationTests;

/// <summary>The relay's backlog count against a real PostgreSQL: exact up to its limit, capped beyond it, published rows left out.</summary>
public sealed class OutboxBacklogTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 10, 0, 0, TimeSpan.Zero);

    private async Task InsertAsync(int count, DateTimeOffset firstCreated, DateTimeOffset? published)
    {
        await using var command = db.DataSource.CreateCommand(
            """
            insert into outbox (global_position, stream_id, version, aggregate_type, created_at, published_at)
            select g, 'order-backlog', g, 'order', $1 + g * interval '1 second', $2 from generate_series(1, $3) g
            """);
        command.Parameters.Add(new Npgsql.NpgsqlParameter<DateTimeOffset> { TypedValue = firstCreated.AddSeconds(-1) });
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (object?)published ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new Npgsql.NpgsqlParameter<int> { TypedValue = count });
        await command.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task The_backlog_is_counted_up_to_the_limit_and_flagged_as_capped_beyond_it()
    {
        var outbox = new OutboxStore(db.DataSource);
        await using (var clear = db.DataSource.CreateCommand("delete from outbox"))
        {
            await clear.ExecuteNonQueryAsync();
        }

        // Nothing waiting: no count, no oldest row.
        Assert.Equal((0L, false, (DateTimeOffset?)null), await outbox.BacklogAsync(10, CancellationToken.None));

        // Older rows already published (kept by a relay that marks) are neither counted nor the oldest.
        await InsertAsync(3, Start.AddHours(-1), published: Start);
        await InsertAsync(5, Start, published: null);

        Assert.Equal((5L, false, (DateTimeOffset?)Start), await outbox.BacklogAsync(10, CancellationToken.None));
        Assert.Equal((5L, false, (DateTimeOffset?)Start), await outbox.BacklogAsync(5, CancellationToken.None));
        Assert.Equal((4L, true, (DateTimeOffset?)Start), await outbox.BacklogAsync(4, CancellationToken.None));
        Assert.Equal((1L, true, (DateTimeOffset?)Start), await outbox.BacklogAsync(1, CancellationToken.None));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => outbox.BacklogAsync(0, CancellationToken.None));
    }
}
