using System.Collections.Concurrent;

namespace OrderPlatform.EventStore.Events;

/// <summary>A request that waits in <see cref="StatementGroups{T}"/>: its caller awaits it until the group's writer settles it.</summary>
public interface IGroupedRequest
{
    /// <summary>Settles the request with <paramref name="exception"/>, unless it was settled already.</summary>
    void Fail(Exception exception);
}

/// <summary>
/// How long a group waits for company before it is written: a group that would leave with fewer than
/// <paramref name="WhileFewerThan"/> requests first waits <paramref name="Time"/>, so that the requests arriving meanwhile
/// leave with it. It trades that much latency for fewer statements and commits at moderate load, where requests are
/// too far apart to meet behind a running group. A queue that is already long enough leaves at once, and so does a
/// group while requests arrive further apart, on average, than the wait: under light load no company would come.
/// </summary>
/// <param name="Time">The wait; zero for none.</param>
/// <param name="WhileFewerThan">How many waiting requests make a group that leaves without waiting.</param>
/// <param name="Clock">The clock the wait is measured on.</param>
public sealed record GroupLinger(TimeSpan Time, int WhileFewerThan, TimeProvider Clock)
{
    /// <summary>No wait: a group leaves as soon as a writer is free.</summary>
    public static readonly GroupLinger None = new(TimeSpan.Zero, 0, TimeProvider.System);
}

/// <summary>
/// Requests that arrive while earlier ones are being written wait and leave together, as one group for one
/// statement. Under light load a request gets a group of its own at once (or after <see cref="GroupLinger"/>); under load
/// requests pile up behind the running groups, so the number of statements follows what the database can take, not the
/// number of requests.
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
/// <param name="linger">How long a small group waits for company before it is written (none when not given).</param>
/// <param name="timings">Where to count how long requests waited for their group and how long its statement took (nowhere when not given).</param>
public sealed class StatementGroups<T>(
    Func<IReadOnlyList<T>, Task> write, int maxRunning, int maxPerGroup, int waitingForAnother = 1, GroupLinger? linger = null, WriteTimings? timings = null)
    where T : IGroupedRequest
{
    // Each request with the moment it arrived on the timings' clock (0 when nothing is timed).
    private readonly ConcurrentQueue<(T Request, long ArrivedAt)> _queue = new();
    private readonly int _maxRunning = Math.Max(1, maxRunning);
    private readonly int _maxPerGroup = Math.Max(1, maxPerGroup);
    private readonly int _waitingForAnother = Math.Max(1, waitingForAnother);
    private readonly GroupLinger _linger = linger ?? GroupLinger.None;
    private int _running;
    private int _waiting;

    // When the last request arrived and the mean time between arrivals (a moving average), in the linger clock's ticks.
    private long _lastArrival;
    private long _meanInterval = long.MaxValue;

    public void Add(T request)
    {
        if (_linger.Time > TimeSpan.Zero)
        {
            NoteArrival();
        }

        _queue.Enqueue((request, timings?.Clock.GetTimestamp() ?? 0));
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

    /// <summary>
    /// Updates the mean time between arrivals: each new interval weighs a quarter. Concurrent arrivals may overwrite
    /// each other's update; the mean only decides whether a group waits, so an update lost now and then is harmless.
    /// </summary>
    private void NoteArrival()
    {
        var now = _linger.Clock.GetTimestamp();
        var last = Interlocked.Exchange(ref _lastArrival, now);
        if (last == 0)
        {
            return;
        }

        var interval = Math.Max(0, now - last);
        var mean = Volatile.Read(ref _meanInterval);
        Volatile.Write(ref _meanInterval, mean == long.MaxValue ? interval : mean + ((interval - mean) / 4));
    }

    /// <summary>Whether a group of <paramref name="waiting"/> requests should wait for company before it is written.</summary>
    private bool ShouldLinger(int waiting)
    {
        if (_linger.Time <= TimeSpan.Zero || waiting <= 0 || waiting >= _linger.WhileFewerThan)
        {
            return false;
        }

        var mean = Volatile.Read(ref _meanInterval);
        return mean != long.MaxValue && _linger.Clock.GetElapsedTime(0, mean) < _linger.Time;
    }

    /// <summary>Writes groups until the queue is empty.</summary>
    private async Task DrainAsync()
    {
        while (true)
        {
            if (ShouldLinger(Volatile.Read(ref _waiting)))
            {
                // Holding this writer's slot, so that the requests arriving meanwhile join this group instead of starting one.
                await Task.Delay(_linger.Time, _linger.Clock).ConfigureAwait(false);
            }

            var group = new List<T>();
            var startedAt = timings?.Clock.GetTimestamp() ?? 0;
            while (group.Count < _maxPerGroup && _queue.TryDequeue(out var next))
            {
                group.Add(next.Request);
                timings?.RecordWait(timings.Clock.GetElapsedTime(next.ArrivedAt, startedAt));
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

            timings?.RecordGroup(group.Count, timings.Clock.GetElapsedTime(startedAt));
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
