using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.EventStore.Snapshots;

/// <summary>
/// A stream's state at <paramref name="Version"/>, as JSON in the format <paramref name="SchemaVersion"/> of its grain,
/// and the commands it remembers (JSON, also the grain's).
/// </summary>
public sealed record StoredSnapshot(int Version, int SchemaVersion, string State, string Commands);

/// <summary>The latest snapshot of each stream that has one (sql/0012_snapshots.sql).</summary>
public sealed class SnapshotStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    public async Task<StoredSnapshot?> ReadAsync(string streamId, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand("select version, schema_version, state::text, commands::text from snapshots where stream_id = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new StoredSnapshot(reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2), reader.GetString(3))
            : null;
    }

    /// <summary>Saves <paramref name="snapshot"/> unless the stream has one at the same or a later version (saves may land out of order).</summary>
    public async Task<bool> SaveAsync(string streamId, StoredSnapshot snapshot, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand(
            """
            insert into snapshots (stream_id, version, schema_version, state, commands, taken_at) values ($1, $2, $3, $4, $5, $6)
            on conflict (stream_id) do update
                set version = excluded.version, schema_version = excluded.schema_version, state = excluded.state,
                    commands = excluded.commands, taken_at = excluded.taken_at
                where snapshots.version < excluded.version
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = streamId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = snapshot.Version });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = snapshot.SchemaVersion });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.State, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot.Commands, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = time.GetUtcNow() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }
}
