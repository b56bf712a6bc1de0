using System.Reflection;
using Npgsql;

namespace OrderPlatform.EventStore.Migrations;

public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Applies the SQL files of sql/ (embedded in this assembly) in order, each in its own transaction, and
/// records them in schema_migrations. Several silos may start at once: an advisory lock lets one apply them.
/// </summary>
public sealed class MigrationRunner(NpgsqlDataSource dataSource)
{
    // Any fixed number; it only has to be the same for every silo.
    private const long AdvisoryLockKey = 0x4f50_4d49_4752;

    public static IReadOnlyList<Migration> Embedded()
    {
        var assembly = typeof(MigrationRunner).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("migrations/", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => Parse(n["migrations/".Length..], Read(assembly, n)))
            .OrderBy(m => m.Version)];
    }

    public static Migration Parse(string fileName, string sql)
    {
        var separator = fileName.IndexOf('_', StringComparison.Ordinal);
        if (separator <= 0 || !int.TryParse(fileName.AsSpan(0, separator), out var version))
        {
            throw new InvalidOperationException($"Migration file '{fileName}' must be named NNNN_description.sql.");
        }

        return new Migration(version, Path.GetFileNameWithoutExtension(fileName)[(separator + 1)..], sql);
    }

    /// <summary>
    /// Applies what is missing, as <see cref="ApplyAsync"/>, waiting up to <paramref name="patience"/> for a database
    /// that cannot be reached or drops the connection (a server starting or restarting, backends terminated): each
    /// such failure is reported to <paramref name="retrying"/> with the pause before the next try, which doubles up to
    /// 5 s. Other errors, and a lost connection once the patience is spent, propagate.
    /// </summary>
    public async Task<IReadOnlyList<int>> ApplyWhenReachableAsync(
        TimeSpan patience, TimeProvider time, Action<Exception, TimeSpan> retrying, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(retrying);
        var started = time.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                // Safe to repeat: each migration commits with its record, and the advisory lock goes with the connection.
                return await ApplyAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsConnectionLoss(e) && time.GetElapsedTime(started) + pause <= patience)
            {
                retrying(e, pause);
                await Task.Delay(pause, time, cancellationToken).ConfigureAwait(false);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>Whether <paramref name="error"/> says the database could not be reached or dropped the connection, rather than refused the work.</summary>
    public static bool IsConnectionLoss(Exception error) => error switch
    {
        // Class 08: connection exceptions; 57P01-57P03: the server shutting down, crashed or not yet accepting connections.
        PostgresException postgres => postgres.SqlState.StartsWith("08", StringComparison.Ordinal) || postgres.SqlState is "57P01" or "57P02" or "57P03",
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    /// <summary>Applies what is missing and returns the versions applied now.</summary>
    public async Task<IReadOnlyList<int>> ApplyAsync(CancellationToken cancellationToken = default)
    {
        var migrations = Embedded();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"select pg_advisory_lock({AdvisoryLockKey})", cancellationToken).ConfigureAwait(false);
        try
        {
            await ExecuteAsync(connection, null, """
                create table if not exists schema_migrations (
                    version    integer     primary key,
                    name       text        not null,
                    applied_at timestamptz not null default now()
                )
                """, cancellationToken).ConfigureAwait(false);

            var applied = new HashSet<int>();
            await using (var query = new NpgsqlCommand("select version from schema_migrations", connection))
            await using (var reader = await query.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var appliedNow = new List<int>();
            foreach (var migration in migrations.Where(m => !applied.Contains(m.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken).ConfigureAwait(false);
                await using (var record = new NpgsqlCommand("insert into schema_migrations (version, name) values ($1, $2)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
                    record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
                    await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }

                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                appliedNow.Add(migration.Version);
            }

            return appliedNow;
        }
        finally
        {
            await ExecuteAsync(connection, null, $"select pg_advisory_unlock({AdvisoryLockKey})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded migration '{resource}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
