using System.Collections.Concurrent;

namespace OrderPlatform.EventStore.Events;

/// <summary>A request that waits in <see cref="StatementGroups{T}"/>: its caller awaits it until the group's writer settles it.</summary>
public interface IGroupedRequest
{
    /// <summary>Settles the request with <paramref name="exception"/>, unless it was settled already.</summary>
    void Fail(Exception exception);
}

/// <summary>
/// Requests that arrive while earlier ones are being written wait and leave together, as one group for one
/// statement. Under light load a request gets a group of its own at once; under load requests pile up behind the running
/// groups, so the number of statements follows what the database can take, not the number of requests.
/// </summary>
/// <param name="write">
/// Writes one group and settles every request in it. Should it throw, the requests it left unsettled fail with its
/// exception and the groups behind it are written all the same.
/// </param>
/// <param name="maxRunning">How many groups may be under way at once (each on a connection of its own).</param>
/// <param name="maxPerGroup">The most requests one group carries.</param>
/// <param name="waitingForAnother">
/// How many requests must be waiting before a further group starts beside a running one. One group always runs when
/// any request waits; 1 starts another group for every request that finds all running ones busy, up to
/// <paramref name="maxRunning"/>. More keeps requests together behind one running group until the queue shows that
/// one is not keeping up.
/// </param>
public sealed class StatementGroups<T>(Func<IReadOnlyList<T>, Task> write, int maxRunning, int maxPerGroup, int waitingForAnother = 1)
    where T : IGroupedRequest
{
    private readonly ConcurrentQueue<T> _queue = new();
    private readonly int _maxRunning = Math.Max(1, maxRunning);
    private readonly int _maxPerGroup = Math.Max(1, maxPerGroup);
    private readonly int _waitingForAnother = Math.Max(1, waitingForAnother);
    private int _running;
    private int _waiting;

    public void Add(T request)
    {
        _queue.Enqueue(request);
        if (TryStart(Interlocked.Increment(ref _waiting)))
        {
            _ = Task.Run(DrainAsync, CancellationToken.None);
        }
    }

    private bool TryStart(int waiting)
    {
        while (true)
        {
            var running = Volatile.Read(ref _running);
            if (running >= _maxRunning || (running > 0 && waiting < _waitingForAnother))
            {
                // The running groups take it. The last drainer to stop looks at the queue once more with none running.
                return false;
            }

            if (Interlocked.CompareExchange(ref _running, running + 1, running) == running)
            {
                return true;
            }
        }
    }

    /// <summary>Writes groups until the queue is empty.</summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            var group = new List<T>();
            while (group.Count < _maxPerGroup && _queue.TryDequeue(out var next))
            {
                group.Add(next);
            }

            Interlocked.Add(ref _waiting, -group.Count);
            if (group.Count == 0)
            {
                Interlocked.Decrement(ref _running);

                // A request queued between the last dequeue and the decrement must not be left without a writer.
                if (_queue.IsEmpty || !TryStart(Volatile.Read(ref _waiting)))
                {
                    return;
                }

                continue;
            }

            try
            {
                await write(group).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // A writer that threw must neither leave its callers waiting nor take this drainer's slot with it.
                foreach (var request in group)
                {
                    request.Fail(e);
                }
            }
        }
    }
}

/// <summary>
/// Writes a group of requests that each insert one row under a unique key (claims, recorded answers), the way their
/// statements need it: a key goes into the statement once, keys in sorted order, and a statement that fails as a
/// whole is tried again request by request.
/// </summary>
public static class KeyedGroups
{
    /// <param name="group">The requests, as the grouping handed them over.</param>
    /// <param name="keyOf">The unique key a request inserts.</param>
    /// <param name="settleRepeat">
    /// Settles a request whose key came earlier in the group, once the group is written: it is not written itself (the
    /// earlier one is, and the row that leaves is what the repeat finds). Should the write throw, repeats fail with it.
    /// </param>
    /// <param name="write">
    /// Writes requests of distinct keys in one statement, in the order given, and settles each. Two groups that share
    /// keys (concurrent retries) thus take their row locks in the same order and cannot deadlock.
    /// </param>
    public static async Task WriteAsync<T>(IReadOnlyList<T> group, Func<T, string> keyOf, Action<T> settleRepeat, Func<IReadOnlyList<T>, Task> write)
        where T : IGroupedRequest
    {
        var distinct = new SortedDictionary<string, T>(StringComparer.Ordinal);
        var repeats = new List<T>();
        foreach (var request in group)
        {
            if (!distinct.TryAdd(keyOf(request), request))
            {
                repeats.Add(request);
            }
        }

        try
        {
            await write([.. distinct.Values]).ConfigureAwait(false);
        }
        catch (Npgsql.PostgresException) when (distinct.Count > 1)
        {
            // Nothing of the statement committed: each request is tried alone, so only one at fault fails.
            foreach (var request in distinct.Values)
            {
                try
                {
                    await write([request]).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    request.Fail(e);
                }
            }
        }

        foreach (var repeat in repeats)
        {
            settleRepeat(repeat);
        }
    }

    /// <summary>
    /// Runs an insert that returns the key of each row it wrote (<c>returning</c> the key as its only column) and returns
    /// those keys: the requests whose key is among them are the ones whose row is kept.
    /// </summary>
    public static async Task<HashSet<string>> ReturnedKeysAsync(Npgsql.NpgsqlCommand insert)
    {
        ArgumentNullException.ThrowIfNull(insert);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await insert.ExecuteReaderAsync().ConfigureAwait(false);
        while (await reader.ReadAsync().ConfigureAwait(false))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }
}
