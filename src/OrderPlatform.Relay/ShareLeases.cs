using Npgsql;

namespace OrderPlatform.Relay;

/// <summary>
/// Which outbox shares this relay publishes, held as PostgreSQL session advisory locks on one connection.
/// When a silo dies its connection closes and its locks go with it, so the other relays take its shares
/// over at their next rebalance without anyone stepping in. Relays count each other through a membership
/// lock each holds, and hold about an equal part of the shares.
/// </summary>
public sealed class ShareLeases(NpgsqlDataSource dataSource, int shareCount) : IAsyncDisposable
{
    // Two-key advisory locks: the first key names the purpose, the second the share or the relay.
    private const int ShareLockClass = 0x4f50_5201;
    private const int MemberLockClass = 0x4f50_5202;

    private readonly SortedSet<int> _held = [];
    private NpgsqlConnection? _connection;

    public IReadOnlyCollection<int> Held => _held;

    /// <summary>Opens the lock connection and registers this relay; call again after a connection failure.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken)
    {
        await CloseAsync();
        _connection = await dataSource.OpenConnectionAsync(cancellationToken);
        while (!await TryLockAsync(MemberLockClass, Random.Shared.Next(), cancellationToken))
        {
            // Another relay drew the same number: draw again.
        }
    }

    /// <summary>Takes free shares up to this relay's fair part and gives back any above it.</summary>
    public async Task RebalanceAsync(CancellationToken cancellationToken)
    {
        var relays = Math.Max(1, await CountRelaysAsync(cancellationToken));
        var fairPart = (shareCount + relays - 1) / relays;

        for (var share = 0; share < shareCount && _held.Count < fairPart; share++)
        {
            if (!_held.Contains(share) && await TryLockAsync(ShareLockClass, share, cancellationToken))
            {
                _held.Add(share);
            }
        }

        while (_held.Count > fairPart)
        {
            var share = _held.Max;
            await ExecuteAsync($"select pg_advisory_unlock({ShareLockClass}, {share})", cancellationToken);
            _held.Remove(share);
        }
    }

    public async Task CloseAsync()
    {
        _held.Clear();
        if (_connection is not null)
        {
            // Closing the session releases every advisory lock it held.
            await _connection.DisposeAsync();
            _connection = null;
        }
    }

    public ValueTask DisposeAsync() => new(CloseAsync());

    private async Task<int> CountRelaysAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"select count(*) from pg_locks where locktype = 'advisory' and classid = {MemberLockClass} and objsubid = 2 and granted",
            Connection);
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task<bool> TryLockAsync(int lockClass, int key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"select pg_try_advisory_lock({lockClass}, {key})", Connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, Connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private NpgsqlConnection Connection => _connection ?? throw new InvalidOperationException("The lease connection is not open.");
}
