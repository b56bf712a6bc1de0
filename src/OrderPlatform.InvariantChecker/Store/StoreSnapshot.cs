using Npgsql;

namespace OrderPlatform.InvariantChecker.Store;

/// <summary>
/// One repeatable-read, read-only transaction: every query of a check run sees the same committed state, so
/// a live system cannot make an event look unpublished that was published between two queries.
/// </summary>
internal sealed class StoreSnapshot : IAsyncDisposable
{
    /// <summary>The stream kinds that are published (docs/decisions/0006: saga streams are not).</summary>
    public const string PublishedStreams = "(e.stream_id like 'order-%' or e.stream_id like 'stock-%' or e.stream_id like 'payment-%')";

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;

    private StoreSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, DateTimeOffset now)
    {
        _connection = connection;
        _transaction = transaction;
        Now = now;
    }

    /// <summary>The database's clock at the start of the snapshot; ages are measured against it, not the checker's clock.</summary>
    public DateTimeOffset Now { get; }

    public static async Task<StoreSnapshot> OpenAsync(string connectionString, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using (var readOnly = new NpgsqlCommand("set transaction read only", connection, transaction))
            {
                await readOnly.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using var clock = new NpgsqlCommand("select now()", connection, transaction);
            var now = (DateTime)(await clock.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
            return new StoreSnapshot(connection, transaction, new DateTimeOffset(DateTime.SpecifyKind(now, DateTimeKind.Utc)));
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task<bool> RelationExistsAsync(string qualifiedName, CancellationToken cancellationToken) =>
        await ScalarAsync<bool>("select to_regclass($1) is not null", cancellationToken, qualifiedName).ConfigureAwait(false);

    public async Task<T> ScalarAsync<T>(string sql, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = Command(sql, parameters);
        var value = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return value is null or DBNull ? default! : (T)value;
    }

    /// <summary>Runs a query and hands each row to <paramref name="row"/>, without buffering the result.</summary>
    public async Task ReadAsync(string sql, Action<NpgsqlDataReader> row, CancellationToken cancellationToken, params object?[] parameters)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            row(reader);
        }
    }

    /// <summary>
    /// For "how many, and show me a few" queries that select <c>count(*) over ()</c> as their last column:
    /// the total of the whole result and the formatted first rows.
    /// </summary>
    public async Task<(long Total, IReadOnlyList<string> Examples)> CountWithExamplesAsync(
        string sql, Func<NpgsqlDataReader, string> format, CancellationToken cancellationToken, params object?[] parameters)
    {
        long total = 0;
        var examples = new List<string>();
        await ReadAsync(sql, reader =>
        {
            total = reader.GetInt64(reader.FieldCount - 1);
            examples.Add(format(reader));
        }, cancellationToken, parameters).ConfigureAwait(false);
        return (total, examples);
    }

    public static string QuoteIdentifier(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public async ValueTask DisposeAsync()
    {
        // Read only: nothing to commit, and a rollback ends the snapshot at once.
        await _transaction.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private NpgsqlCommand Command(string sql, object?[] parameters)
    {
        var command = new NpgsqlCommand(sql, _connection, _transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        return command;
    }
}
