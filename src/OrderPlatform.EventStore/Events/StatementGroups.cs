using System.Collections.Concurrent;

namespace OrderPlatform.EventStore.Events;

/// <summary>A request that waits in <see cref="StatementGroups{T}"/>: its caller awaits it until the group's writer settles it.</summary>
internal interface IGroupedRequest
{
    /// <summary>Settles the request with <paramref name="error"/>, unless it was settled already.</summary>
    void Fail(Exception error);
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
internal sealed class StatementGroups<T>(Func<IReadOnlyList<T>, Task> write, int maxRunning, int maxPerGroup, int waitingForAnother = 1)
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
