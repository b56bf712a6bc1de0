using System.Collections.Concurrent;
using Npgsql;
using NpgsqlTypes;

namespace OrderPlatform.EventStore.Events;

/// <summary>How appends reach PostgreSQL.</summary>
public sealed class EventStoreOptions
{
    public const string Section = "EventStore";

    /// <summary>
    /// Appends that arrive while others are being written wait and are committed together, in one statement
    /// and one transaction (each stream keeps its own version check). Off: every append is its own transaction.
    /// </summary>
    public bool GroupCommit { get; set; } = true;

    /// <summary>How many group transactions may be in flight at once (each on its own connection).</summary>
    public int MaxConcurrentCommits { get; set; } = 2;

    /// <summary>
    /// How many appends must be waiting before a further group transaction starts beside a running one: below that,
    /// they wait for the running one and leave together. 1: a new group for every append that finds the running ones
    /// busy (up to <see cref="MaxConcurrentCommits"/>).
    /// </summary>
    public int AppendsWaitingForAnotherCommit { get; set; } = 16;

    /// <summary>The most appends one group transaction carries.</summary>
    public int MaxAppendsPerCommit { get; set; } = 256;

    /// <summary>
    /// How long a small group of writes waits for company before it is written, while writes arrive closer together
    /// than that on average (<see cref="GroupLinger"/>): appends, idempotency claims and stored responses, and the payment
    /// simulator's answers. Stream reads never wait. Zero (the default): a group leaves as soon as a writer is free.
    /// It saves PostgreSQL CPU per order at moderate load and costs latency there (decision record 0019), so it is off
    /// unless a deployment asks for it.
    /// </summary>
    public TimeSpan GroupWait { get; set; } = TimeSpan.Zero;

    /// <summary>How many waiting writes make a group that leaves without <see cref="GroupWait"/>.</summary>
    public int GroupWaitWhileFewerThan { get; set; } = 8;

    /// <summary>The wait for company of the silo's group writers, on the system clock (it paces database work, not the domain's time).</summary>
    public GroupLinger Linger() => new(GroupWait, GroupWaitWhileFewerThan, TimeProvider.System);

    /// <summary>
    /// Stream reads that arrive while others are under way wait and are answered together, by one statement (each
    /// read still gets exactly its own stream after its own version). Off: every read is its own statement.
    /// </summary>
    public bool GroupReads { get; set; } = true;

    /// <summary>How many group reads may be in flight at once (each on its own connection).</summary>
    public int MaxConcurrentReads { get; set; } = 2;

    /// <summary>The most stream reads one statement carries.</summary>
    public int MaxReadsPerStatement { get; set; } = 256;
}

/// <summary>Running totals of an event store since it was made: sample twice and difference them for group sizes.</summary>
public sealed record EventStoreCounters(long Appends, long AppendStatements, long Reads, long ReadStatements);

/// <summary>
/// Append-only event streams in PostgreSQL. An append writes the events and their outbox rows in one
/// statement (one transaction); optimistic concurrency comes from the version guard (sql/0007) and the
/// (stream_id, version) unique key. With group commit, concurrent appends to different streams share the
/// statement and the transaction: the box's commit rate then bounds the number of groups, not of appends.
/// </summary>
public sealed class PostgresEventStore
{
    /// <summary>SQLSTATE raised by events_expect_versions when a stream is not at the expected version.</summary>
    private const string VersionConflictState = "OP409";

    // $1/$2: one (stream, expected version) pair per append; $3..$9: one entry per event; $10: the time. The guard fails
    // the statement, and so the transaction with everything batched alongside, unless every stream is where its writer
    // expects it. It looks up the version each writer expects (one probe of the (stream_id, version) key per stream, in
    // the statement itself): a stream without it is behind its writer, and events_expect_versions then raises for the
    // first such stream, naming it. A stream past it is refused by the key, when the insert meets the version after it.
    private const string AppendEventsSql = """
        with guard as materialized (
            select case
                when exists (
                    select 1 from unnest($1::text[], $2::int[]) as x(stream_id, expected)
                    where not exists (select 1 from events v where v.stream_id = x.stream_id and v.version = x.expected))
                then events_expect_versions($1, $2)
                else true
            end as ok),
        appended as (
            insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
            select e.stream_id, e.version, e.event_id, e.event_type, e.schema_version, e.data::jsonb, e.metadata::jsonb, $10
            from guard, unnest($3::text[], $4::int[], $5::uuid[], $6::text[], $7::int[], $8::text[], $9::text[])
                 as e(stream_id, version, event_id, event_type, schema_version, data, metadata)
            where guard.ok
            returning global_position, stream_id, version
        )
        """;

    // With published streams ($11/$12: those streams and their aggregate types), their events get outbox rows too.
    private const string AppendSql = AppendEventsSql + """
        insert into outbox (global_position, stream_id, version, aggregate_type, created_at)
        select a.global_position, a.stream_id, a.version, p.aggregate_type, $10
        from appended a join unnest($11::text[], $12::text[]) as p(stream_id, aggregate_type) on p.stream_id = a.stream_id
        """;

    // A group that publishes nothing (the sagas' step logs) does not touch the outbox.
    private const string AppendUnpublishedSql = AppendEventsSql + "select count(*) from appended";

    /// <summary>How many existing stream ids <see cref="ExistingStreamsAsync"/> remembers before it starts over.</summary>
    public const int MaxKnownStreams = 100_000;

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly EventStoreOptions _options;

    private readonly StatementGroups<PendingAppend> _appends;
    private readonly StatementGroups<PendingRead> _reads;
    private readonly ConcurrentDictionary<string, bool> _knownStreams = new(StringComparer.Ordinal);
    private long _appendCount;
    private long _appendStatements;
    private long _readCount;
    private long _readStatements;

    public PostgresEventStore(NpgsqlDataSource dataSource, TimeProvider time, EventStoreOptions? options = null)
    {
        _dataSource = dataSource;
        _time = time;
        _options = options ?? new EventStoreOptions();
        _appends = new StatementGroups<PendingAppend>(CommitAsync, _options.MaxConcurrentCommits, _options.MaxAppendsPerCommit, _options.AppendsWaitingForAnotherCommit, _options.Linger(), AppendTimings);
        _reads = new StatementGroups<PendingRead>(group => ReadAsync(group, CancellationToken.None), _options.MaxConcurrentReads, _options.MaxReadsPerStatement);
    }

    public NpgsqlDataSource DataSource => _dataSource;

    /// <summary>
    /// How long grouped appends (<see cref="EventStoreOptions.GroupCommit"/>) waited for their group's statement to begin,
    /// and how long that statement and its commit took: where an append's time goes, in the silo or in the database.
    /// </summary>
    public WriteTimings AppendTimings { get; } = new(TimeProvider.System);

    /// <summary>
    /// The events of <paramref name="streamId"/> after <paramref name="afterVersion"/>, in version order. With group
    /// reads, reads that arrive while others are under way share one statement (activations of many grains at once).
    /// </summary>
    public Task<IReadOnlyList<StoredEvent>> ReadStreamAsync(string streamId, int afterVersion = 0, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var read = new PendingRead(streamId, afterVersion);
        if (!_options.GroupReads)
        {
            return ReadAloneAsync(read, cancellationToken);
        }

        _reads.Add(read);

        // A cancelled caller stops waiting; the statement that carries its read runs on for the others.
        return cancellationToken.CanBeCanceled ? read.Completion.Task.WaitAsync(cancellationToken) : read.Completion.Task;
    }

    private async Task<IReadOnlyList<StoredEvent>> ReadAloneAsync(PendingRead read, CancellationToken cancellationToken)
    {
        await ReadAsync([read], cancellationToken).ConfigureAwait(false);
        return await read.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Answers every read of the group from one statement; never throws (a failure fails each read of the group).</summary>
    private async Task ReadAsync(IReadOnlyList<PendingRead> group, CancellationToken cancellationToken)
    {
        try
        {
            Interlocked.Add(ref _readCount, group.Count);
            Interlocked.Increment(ref _readStatements);
            await using var command = _dataSource.CreateCommand(
                """
                select r.n, e.version, e.event_id, e.event_type, e.schema_version, e.data::text, e.metadata::text, e.recorded_at, e.global_position
                from unnest($1::text[], $2::int[]) with ordinality as r(stream_id, after_version, n)
                join events e on e.stream_id = r.stream_id and e.version > r.after_version
                order by r.n, e.version
                """);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. group.Select(r => r.StreamId)] });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. group.Select(r => r.AfterVersion)] });
            var events = new List<StoredEvent>[group.Count];
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var index = (int)reader.GetInt64(0) - 1;
                    (events[index] ??= []).Add(new StoredEvent(
                        group[index].StreamId,
                        reader.GetInt32(1),
                        reader.GetGuid(2),
                        reader.GetString(3),
                        reader.GetInt32(4),
                        reader.GetString(5),
                        reader.GetString(6),
                        reader.GetFieldValue<DateTimeOffset>(7),
                        reader.GetInt64(8)));
                }
            }

            for (var i = 0; i < group.Count; i++)
            {
                group[i].Completion.TrySetResult(events[i] ?? (IReadOnlyList<StoredEvent>)[]);
            }
        }
        catch (Exception e)
        {
            foreach (var read in group)
            {
                read.Completion.TrySetException(e);
            }
        }
    }

    /// <summary>What this store has done since it was made.</summary>
    public EventStoreCounters Counters => new(
        Interlocked.Read(ref _appendCount), Interlocked.Read(ref _appendStatements), Interlocked.Read(ref _readCount), Interlocked.Read(ref _readStatements));

    /// <summary>
    /// Appends <paramref name="events"/> after <paramref name="expectedVersion"/> and returns the new version.
    /// <paramref name="alongside"/> are rows written in the same transaction (for example the saga index); those of one kind
    /// from every append of a group share one statement.
    /// Unless <paramref name="publish"/> is false, every event gets an outbox row in the same transaction.
    /// With group commit the append may share its transaction with appends to other streams; it still commits
    /// or fails on its own version check alone. Once queued it is not cancelled.
    /// </summary>
    /// <remarks>
    /// <paramref name="carried"/> names other streams whose events commit with these or not at all (each another
    /// writer's record of a command this append decides, or the first events of an aggregate its writer creates); a
    /// stale version of any stream fails them all, and the exception then names <paramref name="streamId"/>. A carried
    /// append gets outbox rows when it names the aggregate type it is published as, whatever <paramref name="publish"/> says.
    /// </remarks>
    /// <exception cref="ConcurrencyConflictException">Another writer appended first.</exception>
    public Task<int> AppendAsync(
        string streamId,
        string aggregateType,
        int expectedVersion,
        IReadOnlyList<EventToAppend> events,
        IReadOnlyList<IRowAlongside>? alongside = null,
        bool publish = true,
        IReadOnlyList<CarriedAppend>? carried = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        if (events.Count == 0)
        {
            return Task.FromResult(expectedVersion);
        }

        carried ??= [];
        if (carried.Count > 0)
        {
            // Most appends carry nothing: the set of streams is made only for those that do.
            var carriedStreams = new HashSet<string>(StringComparer.Ordinal) { streamId };
            foreach (var c in carried)
            {
                ArgumentOutOfRangeException.ThrowIfNegative(c.ExpectedVersion);
                if (c.Events.Count == 0 || !carriedStreams.Add(c.StreamId))
                {
                    throw new ArgumentException("Each carried append has events of a stream of its own, other than the append's.", nameof(carried));
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var append = new PendingAppend(streamId, aggregateType, expectedVersion, events, alongside ?? [], publish, carried);

        // Counted once here: a group that fails is tried again append by append, and those statements count too.
        Interlocked.Increment(ref _appendCount);
        if (!_options.GroupCommit)
        {
            return CommitAloneAsync(append);
        }

        _appends.Add(append);
        return append.Completion.Task;
    }

    private async Task<int> CommitAloneAsync(PendingAppend append)
    {
        await CommitAsync([append]).ConfigureAwait(false);
        return await append.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Commits the group in one transaction and settles every append in it; never throws.</summary>
    private async Task CommitAsync(IReadOnlyList<PendingAppend> group)
    {
        try
        {
            Interlocked.Increment(ref _appendStatements);
            await using var batch = CreateBatch(group);
            await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
            foreach (var append in group)
            {
                append.Completion.TrySetResult(append.ExpectedVersion + append.Events.Count);
            }
        }
        catch (PostgresException) when (group.Count > 1)
        {
            // One append of the group is stale (or carries bad data): nothing of the group committed. Each append
            // is tried again alone, so only the one at fault fails.
            foreach (var append in group)
            {
                await CommitAsync([append]).ConfigureAwait(false);
            }
        }
        catch (PostgresException e) when (e.SqlState == VersionConflictState
            || (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == "events_stream_version"))
        {
            var append = group[0];
            append.Completion.TrySetException(new ConcurrencyConflictException(append.StreamId, append.ExpectedVersion));
        }
        catch (Exception e)
        {
            // The connection broke or the server refused: whether the transaction committed is unknown, as for any
            // failed write; the writers reload and retry, and a retried append that had landed meets a conflict.
            foreach (var append in group)
            {
                append.Completion.TrySetException(e);
            }
        }
    }

    private NpgsqlBatch CreateBatch(IReadOnlyList<PendingAppend> group)
    {
        var eventCount = group.Sum(a => a.Events.Count + a.Carried.Sum(c => c.Events.Count));
        // The guard checks the streams their writers expect at a version above 0. A writer that takes its stream to be
        // new (version 0) needs no look: were the stream not empty, its first event's version would exist already and
        // the (stream_id, version) key refuses the insert, failing the statement just as the guard would.
        var guarded = group.Count(a => a.ExpectedVersion > 0) + group.Sum(a => a.Carried.Count(c => c.ExpectedVersion > 0));
        var streams = new string[guarded];
        var expected = new int[guarded];
        var eventStreams = new string[eventCount];
        var versions = new int[eventCount];
        var ids = new Guid[eventCount];
        var types = new string[eventCount];
        var schemaVersions = new int[eventCount];
        var data = new string[eventCount];
        var metadata = new string[eventCount];
        var published = new List<string>();
        var publishedTypes = new List<string>();
        var i = 0;
        var s = 0;
        void Add(string streamId, int expectedVersion, IReadOnlyList<EventToAppend> events)
        {
            if (expectedVersion > 0)
            {
                streams[s] = streamId;
                expected[s++] = expectedVersion;
            }

            for (var n = 0; n < events.Count; n++, i++)
            {
                var e = events[n];
                eventStreams[i] = streamId;
                versions[i] = expectedVersion + n + 1;
                ids[i] = e.EventId;
                types[i] = e.EventType;
                schemaVersions[i] = e.SchemaVersion;
                data[i] = e.Data;
                metadata[i] = e.Metadata;
            }
        }

        foreach (var append in group)
        {
            Add(append.StreamId, append.ExpectedVersion, append.Events);
            foreach (var carried in append.Carried)
            {
                Add(carried.StreamId, carried.ExpectedVersion, carried.Events);
                if (carried.PublishedAs is { } carriedType)
                {
                    published.Add(carried.StreamId);
                    publishedTypes.Add(carriedType);
                }
            }

            if (append.Publish)
            {
                published.Add(append.StreamId);
                publishedTypes.Add(append.AggregateType);
            }
        }

        var command = new NpgsqlBatchCommand(published.Count > 0 ? AppendSql : AppendUnpublishedSql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = streams });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = expected });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = eventStreams });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = versions });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = ids });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = types });
        command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = schemaVersions });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = data });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = metadata });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = _time.GetUtcNow(), NpgsqlDbType = NpgsqlDbType.TimestampTz });
        if (published.Count > 0)
        {
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. published] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. publishedTypes] });
        }

        // A batch runs in one implicit transaction: the events, their outbox rows and the side statements commit
        // together, and a failed version check aborts them all.
        var batch = _dataSource.CreateBatch();
        batch.BatchCommands.Add(command);
        // Rows alongside, one statement per kind; built anew for every batch, since a group that fails is retried append
        // by append and a command belongs to one batch only.
        foreach (var rows in group.SelectMany(a => a.Alongside).GroupBy(r => r.GetType()))
        {
            var kind = rows.ToList();
            batch.BatchCommands.Add(kind[0].WriteAll(kind));
        }

        return batch;
    }

    /// <summary>
    /// Which of the given streams exist (have at least one event). Streams are never deleted, so a stream seen
    /// once is remembered (up to <see cref="MaxKnownStreams"/>) and not asked for again.
    /// </summary>
    public async Task<IReadOnlySet<string>> ExistingStreamsAsync(IReadOnlyCollection<string> streamIds, CancellationToken cancellationToken = default)
    {
        var found = new HashSet<string>(streamIds.Where(_knownStreams.ContainsKey), StringComparer.Ordinal);
        if (found.Count == streamIds.Count)
        {
            return found;
        }

        await using var command = _dataSource.CreateCommand("select stream_id from events where stream_id = any($1) and version = 1");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. streamIds.Where(s => !found.Contains(s))] });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            found.Add(reader.GetString(0));
        }

        if (_knownStreams.Count > MaxKnownStreams)
        {
            _knownStreams.Clear();
        }

        foreach (var stream in found)
        {
            _knownStreams.TryAdd(stream, true);
        }

        return found;
    }

    private sealed record PendingRead(string StreamId, int AfterVersion) : IGroupedRequest
    {
        public TaskCompletionSource<IReadOnlyList<StoredEvent>> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }

    private sealed record PendingAppend(
        string StreamId,
        string AggregateType,
        int ExpectedVersion,
        IReadOnlyList<EventToAppend> Events,
        IReadOnlyList<IRowAlongside> Alongside,
        bool Publish,
        IReadOnlyList<CarriedAppend> Carried)
        : IGroupedRequest
    {
        public TaskCompletionSource<int> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Fail(Exception exception) => Completion.TrySetException(exception);
    }
}
