using Microsoft.Extensions.Time.Testing;
using Npgsql;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.EventStore.Migrations;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>The store's guarantees against a real PostgreSQL: optimistic concurrency, the outbox, migrations, idempotency records.</summary>
public sealed class EventStoreTests(DatabaseFixture db) : IClassFixture<DatabaseFixture>
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    private static EventToAppend Event(string type = "test.happened") => new(Guid.NewGuid(), type, 1, """{"n":1}""", "{}");

    [Fact]
    public async Task Two_writers_at_the_same_version_one_wins_the_other_reloads_and_appends_after_it()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var stream = $"test-{Guid.NewGuid():N}";
        await store.AppendAsync(stream, "test", 0, [Event()]);

        // Both writers loaded version 1 and decide at once.
        var results = await Task.WhenAll(
            Attempt(() => store.AppendAsync(stream, "test", 1, [Event("test.by-a")])),
            Attempt(() => store.AppendAsync(stream, "test", 1, [Event("test.by-b")])));

        Assert.Single(results, r => r is null);
        var conflict = Assert.IsType<ConcurrencyConflictException>(Assert.Single(results, r => r is not null));
        Assert.Equal(1, conflict.ExpectedVersion);

        // The loser reloads, sees the winner's event, and appends after it: nothing is overwritten.
        var reloaded = await store.ReadStreamAsync(stream);
        Assert.Equal([1, 2], reloaded.Select(e => e.Version));
        var winner = reloaded[1].EventType;
        Assert.Equal(3, await store.AppendAsync(stream, "test", reloaded[^1].Version, [Event("test.after-reload")]));
        var final = await store.ReadStreamAsync(stream);
        Assert.Equal([1, 2, 3], final.Select(e => e.Version));
        Assert.Equal(winner, final[1].EventType);
    }

    [Fact]
    public async Task Grouped_appends_are_timed_each_once_and_appends_without_group_commit_are_not()
    {
        var grouped = new PostgresEventStore(db.DataSource, _time);
        var alone = new PostgresEventStore(db.DataSource, _time, new EventStoreOptions { GroupCommit = false });

        await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => grouped.AppendAsync($"test-{Guid.NewGuid():N}", "test", 0, [Event()])));
        await alone.AppendAsync($"test-{Guid.NewGuid():N}", "test", 0, [Event()]);

        var counted = await WriteTimingsTests.CountedAsync(grouped.AppendTimings, t => t.Requests >= 5);

        Assert.Equal(5, counted.Requests);
        Assert.InRange(counted.Groups, 1, 5);
        Assert.Equal(5, counted.Waits.Sum());
        Assert.Equal(5, counted.Writes.Sum());
        Assert.True(OrderPlatform.Metrics.DurationBuckets.Quantile(counted.Writes, 0.5) > 0.01, "a statement with its commit takes more than 10 µs");
        Assert.Equal(0, alone.AppendTimings.Snapshot().Requests);
    }

    [Fact]
    public async Task A_stale_writer_far_behind_is_refused_and_the_stream_keeps_no_gap_or_duplicate()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var stream = $"test-{Guid.NewGuid():N}";
        await store.AppendAsync(stream, "test", 0, [Event(), Event(), Event()]);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(stream, "test", 1, [Event(), Event()]));

        var events = await store.ReadStreamAsync(stream);
        Assert.Equal([1, 2, 3], events.Select(e => e.Version));
    }

    [Fact]
    public async Task A_writer_ahead_of_the_stream_is_refused_and_nothing_it_sent_alongside_commits()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var stream = $"test-{Guid.NewGuid():N}";
        var orderId = Guid.NewGuid();
        await store.AppendAsync(stream, "test", 0, [Event()]);

        // Expecting version 3 on a stream at version 1 would leave a gap at 2.
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(
            stream, "test", 3, [Event()], [OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(orderId, false, null, null, _time.GetUtcNow())]));

        Assert.Equal([1], (await store.ReadStreamAsync(stream)).Select(e => e.Version));
        await using var sagas = db.DataSource.CreateCommand("select count(*) from sagas where order_id = $1");
        sagas.Parameters.AddWithValue(orderId);
        Assert.Equal(0L, await sagas.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_carried_append_commits_with_the_append_or_not_at_all_and_gets_no_outbox_rows()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var (own, other) = ($"test-{Guid.NewGuid():N}", $"test-{Guid.NewGuid():N}");
        await store.AppendAsync(other, "test", 0, [Event()], publish: false);

        Assert.Equal(1, await store.AppendAsync(own, "test", 0, [Event()], carried: [new CarriedAppend(other, 1, [Event("test.carried"), Event("test.carried")])]));
        Assert.Equal([1, 2, 3], (await store.ReadStreamAsync(other)).Select(e => e.Version));
        await using (var check = db.DataSource.CreateCommand(
            """
            select count(distinct xmin::text), (select count(*) from outbox where stream_id = $1), (select count(*) from outbox where stream_id = $2)
            from events where stream_id = $1 or (stream_id = $2 and version > 1)
            """))
        {
            check.Parameters.AddWithValue(own);
            check.Parameters.AddWithValue(other);
            await using var reader = await check.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal((1L, 1L, 0L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        // The carried stream moved on: neither stream takes anything, and the append can go again alone.
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(own, "test", 1, [Event()], carried: [new CarriedAppend(other, 1, [Event("test.carried")])]));
        Assert.Equal([1], (await store.ReadStreamAsync(own)).Select(e => e.Version));
        Assert.Equal([1, 2, 3], (await store.ReadStreamAsync(other)).Select(e => e.Version));
        Assert.Equal(2, await store.AppendAsync(own, "test", 1, [Event()]));

        // A carried append without events, or to the append's own stream, is a mistake of the caller.
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(own, "test", 2, [Event()], carried: [new CarriedAppend(other, 3, [])]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(own, "test", 2, [Event()], carried: [new CarriedAppend(own, 2, [Event()])]));
    }

    [Fact]
    public async Task Several_carried_appends_commit_with_the_append_or_none_does()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var (own, first, second) = ($"test-{Guid.NewGuid():N}", $"test-{Guid.NewGuid():N}", $"test-{Guid.NewGuid():N}");
        await store.AppendAsync(first, "test", 0, [Event()], publish: false);
        await store.AppendAsync(second, "test", 0, [Event(), Event()], publish: false);

        // One of the carried streams moved on: nothing of the append, nor of the other carried stream, lands.
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(own, "test", 0, [Event(), Event()],
            carried: [new CarriedAppend(first, 1, [Event("test.carried")]), new CarriedAppend(second, 1, [Event("test.carried")])]));
        Assert.Empty(await store.ReadStreamAsync(own));
        Assert.Equal([1], (await store.ReadStreamAsync(first)).Select(e => e.Version));

        Assert.Equal(2, await store.AppendAsync(own, "test", 0, [Event(), Event()],
            carried: [new CarriedAppend(first, 1, [Event("test.carried")]), new CarriedAppend(second, 2, [Event("test.carried"), Event("test.carried")])]));
        Assert.Equal([1, 2], (await store.ReadStreamAsync(first)).Select(e => e.Version));
        Assert.Equal([1, 2, 3, 4], (await store.ReadStreamAsync(second)).Select(e => e.Version));
        await using (var check = db.DataSource.CreateCommand(
            "select count(distinct xmin::text) from events where stream_id = $1 or (stream_id = $2 and version > 1) or (stream_id = $3 and version > 2)"))
        {
            check.Parameters.AddWithValue(own);
            check.Parameters.AddWithValue(first);
            check.Parameters.AddWithValue(second);
            Assert.Equal(1L, await check.ExecuteScalarAsync());
        }

        // Two records of one stream in one append are a mistake of the caller (their versions would collide).
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(own, "test", 2, [Event()],
            carried: [new CarriedAppend(first, 2, [Event("test.carried")]), new CarriedAppend(first, 2, [Event("test.carried")])]));
        Assert.Equal([1, 2], (await store.ReadStreamAsync(own)).Select(e => e.Version));
    }

    [Fact]
    public async Task Concurrent_appends_to_many_streams_share_transactions_and_keep_their_own_versions()
    {
        var store = new PostgresEventStore(db.DataSource, _time, new EventStoreOptions { MaxConcurrentCommits = 1 });
        var streams = Enumerable.Range(0, 200).Select(_ => $"group-{Guid.NewGuid():N}").ToArray();
        var versions = await Task.WhenAll(streams.Select(s => store.AppendAsync(s, "test", 0, [Event(), Event()])));

        Assert.All(versions, v => Assert.Equal(2, v));
        await using var command = db.DataSource.CreateCommand(
            """
            select count(*), count(distinct xmin::text), (select count(*) from outbox where stream_id = any($1)),
                   count(*) filter (where version not in (1, 2))
            from events where stream_id = any($1)
            """);
        command.Parameters.AddWithValue(streams);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(400L, reader.GetInt64(0));
        Assert.Equal(400L, reader.GetInt64(2));
        Assert.Equal(0L, reader.GetInt64(3));

        // Rows written by one transaction share its id (xmin): 200 appends through one committer took far fewer.
        Assert.True(reader.GetInt64(1) < 100, $"{reader.GetInt64(1)} transactions for 200 concurrent appends");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Concurrent_reads_share_statements_and_each_gets_its_own_stream_after_its_own_version(bool groupReads)
    {
        var writer = new PostgresEventStore(db.DataSource, _time);
        var streams = Enumerable.Range(0, 100).Select(n => (Id: $"read-{Guid.NewGuid():N}", Events: 1 + n % 3)).ToArray();
        await Task.WhenAll(streams.Select(s => writer.AppendAsync(s.Id, "test", 0, [.. Enumerable.Range(0, s.Events).Select(_ => Event())])));
        var store = new PostgresEventStore(db.DataSource, _time, new EventStoreOptions { GroupReads = groupReads, MaxConcurrentReads = 1 });

        // Every stream from the start and from version 1, and a stream that does not exist.
        var reads = streams.SelectMany(s => new[] { (Stream: s.Id, After: 0, Expected: s.Events), (Stream: s.Id, After: 1, Expected: s.Events - 1) })
            .Append((Stream: $"missing-{Guid.NewGuid():N}", After: 0, Expected: 0))
            .ToArray();
        var results = await Task.WhenAll(reads.Select(r => store.ReadStreamAsync(r.Stream, r.After)));

        for (var i = 0; i < reads.Length; i++)
        {
            Assert.All(results[i], e => Assert.Equal(reads[i].Stream, e.StreamId));
            Assert.Equal(Enumerable.Range(reads[i].After + 1, reads[i].Expected), results[i].Select(e => e.Version));
        }

        var counters = store.Counters;
        Assert.Equal(reads.Length, counters.Reads);
        if (groupReads)
        {
            Assert.True(counters.ReadStatements < reads.Length / 2, $"{counters.ReadStatements} statements for {reads.Length} concurrent reads");
        }
        else
        {
            Assert.Equal(reads.Length, counters.ReadStatements);
        }
    }

    [Fact]
    public async Task A_read_already_cancelled_throws_and_the_reads_beside_it_are_answered()
    {
        var store = new PostgresEventStore(db.DataSource, _time, new EventStoreOptions { MaxConcurrentReads = 1 });
        var stream = $"read-{Guid.NewGuid():N}";
        await store.AppendAsync(stream, "test", 0, [Event(), Event()]);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        var others = Enumerable.Range(0, 20).Select(_ => store.ReadStreamAsync(stream)).ToList();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.ReadStreamAsync(stream, 0, cancelled.Token));

        Assert.All(await Task.WhenAll(others), events => Assert.Equal([1, 2], events.Select(e => e.Version)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_stale_writer_fails_alone_and_the_rest_of_its_group_commits(bool groupCommit)
    {
        var store = new PostgresEventStore(db.DataSource, _time, new EventStoreOptions { GroupCommit = groupCommit, MaxConcurrentCommits = 1 });
        var contested = $"contested-{Guid.NewGuid():N}";
        await store.AppendAsync(contested, "test", 0, [Event()]);
        var staleSaga = Guid.NewGuid();
        var aheadSaga = Guid.NewGuid();
        var goodSagas = Enumerable.Range(0, 40).Select(_ => Guid.NewGuid()).ToArray();
        static IRowAlongside Index(Guid id, DateTimeOffset now) => OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(id, false, null, null, now);

        var good = goodSagas.Select(id => store.AppendAsync($"fresh-{id:N}", "test", 0, [Event()], [Index(id, _time.GetUtcNow())])).ToList();
        var behind = store.AppendAsync(contested, "test", 0, [Event()], [Index(staleSaga, _time.GetUtcNow())]);
        var ahead = store.AppendAsync(contested, "test", 2, [Event()], [Index(aheadSaga, _time.GetUtcNow())]);
        good.AddRange(goodSagas.Take(20).Select(id => store.AppendAsync($"second-{id:N}", "test", 0, [Event()])));

        Assert.All(await Task.WhenAll(good), v => Assert.Equal(1, v));
        Assert.Equal(contested, (await Assert.ThrowsAsync<ConcurrencyConflictException>(() => behind)).StreamId);
        Assert.Equal(2, (await Assert.ThrowsAsync<ConcurrencyConflictException>(() => ahead)).ExpectedVersion);

        Assert.Equal([1], (await store.ReadStreamAsync(contested)).Select(e => e.Version));

        // Each append counts once, also when its group failed and it was tried again alone.
        Assert.Equal(1 + 40 + 2 + 20, store.Counters.Appends);
        await using var sagas = db.DataSource.CreateCommand("select count(*) filter (where order_id = any($1)), count(*) filter (where order_id = any($2)) from sagas");
        sagas.Parameters.AddWithValue(goodSagas);
        sagas.Parameters.AddWithValue(new[] { staleSaga, aheadSaga });
        await using var reader = await sagas.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((40L, 0L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    [Fact]
    public async Task Existing_streams_are_remembered_and_a_missing_one_is_asked_for_again()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var (a, b) = ($"known-{Guid.NewGuid():N}", $"later-{Guid.NewGuid():N}");
        await store.AppendAsync(a, "test", 0, [Event()]);

        Assert.Equal([a], await store.ExistingStreamsAsync([a, b]));
        await store.AppendAsync(b, "test", 0, [Event()]);

        // The miss was not remembered: the stream that appeared since is found.
        Assert.Equal(new[] { a, b }.Order(), (await store.ExistingStreamsAsync([a, b])).Order());
        Assert.Empty(await store.ExistingStreamsAsync([$"never-{Guid.NewGuid():N}"]));
    }

    [Fact]
    public async Task Events_and_their_outbox_rows_commit_together_or_not_at_all()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var stream = $"test-{Guid.NewGuid():N}";
        var duplicateId = Guid.NewGuid();
        await store.AppendAsync(stream, "test", 0, [new EventToAppend(duplicateId, "t", 1, "{}", "{}")]);

        // The second event reuses an event id: the whole append fails, leaving neither events nor outbox rows.
        await Assert.ThrowsAsync<Npgsql.PostgresException>(() =>
            store.AppendAsync(stream, "test", 1, [Event(), new EventToAppend(duplicateId, "t", 1, "{}", "{}")]));

        await using var command = db.DataSource.CreateCommand("select (select count(*) from events where stream_id = $1), (select count(*) from outbox where stream_id = $1)");
        command.Parameters.AddWithValue(stream);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((1L, 1L), (reader.GetInt64(0), reader.GetInt64(1)));
    }

    [Fact]
    public async Task An_append_that_publishes_nothing_writes_no_outbox_row_but_keeps_its_version_check_and_no_append_notifies()
    {
        var store = new PostgresEventStore(db.DataSource, _time);
        var quiet = $"test-{Guid.NewGuid():N}";
        var published = $"test-{Guid.NewGuid():N}";
        await using var listener = await db.DataSource.OpenConnectionAsync();
        var notifications = 0;
        listener.Notification += (_, _) => Interlocked.Increment(ref notifications);
        await using (var listen = new NpgsqlCommand("listen outbox", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        Assert.Equal(2, await store.AppendAsync(quiet, "test", 0, [Event(), Event()], publish: false));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(quiet, "test", 1, [Event()], publish: false));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => store.AppendAsync(quiet, "test", 3, [Event()], publish: false));
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(0, Volatile.Read(ref notifications));

        // An append with outbox rows does not notify either: a notifying commit holds a database-wide lock through its
        // WAL flush, and relays look again on their own (decision record 0023).
        Assert.Equal(1, await store.AppendAsync(published, "test", 0, [Event()]));
        Assert.False(await listener.WaitAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Equal(0, Volatile.Read(ref notifications));

        // The listener hears a notification sent on purpose: its silence above means something.
        await using (var notify = db.DataSource.CreateCommand("select pg_notify('outbox', 'on purpose')"))
        {
            await notify.ExecuteNonQueryAsync();
        }

        Assert.True(await listener.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, Volatile.Read(ref notifications));

        await using var command = db.DataSource.CreateCommand(
            "select (select count(*) from events where stream_id = $1), (select count(*) from outbox where stream_id = $1), (select count(*) from outbox where stream_id = $2)");
        command.Parameters.AddWithValue(quiet);
        command.Parameters.AddWithValue(published);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((2L, 0L, 1L), (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2)));
    }

    [Fact]
    public async Task Migrations_are_recorded_and_applying_them_again_changes_nothing()
    {
        Assert.Equal(MigrationRunner.Embedded().Select(m => m.Version), db.AppliedAtStart);
        Assert.Empty(await new MigrationRunner(db.DataSource).ApplyAsync());

        await using var command = db.DataSource.CreateCommand("select count(*) from schema_migrations");
        Assert.Equal((long)MigrationRunner.Embedded().Count, await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Idempotency_keys_are_claimed_once_replayed_and_purged_after_retention()
    {
        var options = new IdempotencyStoreOptions { Retention = TimeSpan.FromHours(24), Lease = TimeSpan.FromSeconds(30) };
        var store = new IdempotencyStore(db.DataSource, _time, options);
        var key = $"key-{Guid.NewGuid()}";
        byte[] hash = [1, 2, 3];

        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, hash)).Outcome);
        Assert.Equal(ClaimOutcome.InProgress, (await store.ClaimAsync(key, hash)).Outcome);
        Assert.Equal(ClaimOutcome.Mismatch, (await store.ClaimAsync(key, [9])).Outcome);

        await store.CompleteAsync(key, new StoredResponse(202, "application/json", "/orders/1", "{}"));
        var replay = await store.ClaimAsync(key, hash);
        Assert.Equal(ClaimOutcome.Completed, replay.Outcome);
        Assert.Equal(new StoredResponse(202, "application/json", "/orders/1", "{}"), replay.Response);

        _time.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, await store.PurgeExpiredAsync());
        _time.Advance(TimeSpan.FromHours(1));
        Assert.True(await store.PurgeExpiredAsync() >= 1);
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, [9])).Outcome);
    }

    [Fact]
    public async Task A_claim_whose_holder_died_can_be_taken_over_after_its_lease_by_the_same_request_only()
    {
        var store = new IdempotencyStore(db.DataSource, _time, new IdempotencyStoreOptions { Lease = TimeSpan.FromSeconds(30) });
        var key = $"key-{Guid.NewGuid()}";

        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, [1])).Outcome);
        _time.Advance(TimeSpan.FromSeconds(31));

        Assert.Equal(ClaimOutcome.Mismatch, (await store.ClaimAsync(key, [2])).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, [1])).Outcome);
    }

    [Fact]
    public async Task Concurrent_claims_of_one_key_have_exactly_one_winner()
    {
        var store = new IdempotencyStore(db.DataSource, _time, new IdempotencyStoreOptions());
        var key = $"key-{Guid.NewGuid()}";

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => store.ClaimAsync(key, [7])));

        Assert.Single(outcomes, o => o.Outcome == ClaimOutcome.Claimed);
        Assert.All(outcomes.Where(o => o.Outcome != ClaimOutcome.Claimed), o => Assert.Equal(ClaimOutcome.InProgress, o.Outcome));
    }

    [Fact]
    public async Task Concurrent_claims_share_statements_and_each_learns_its_own_outcome()
    {
        var store = new IdempotencyStore(db.DataSource, _time, new IdempotencyStoreOptions());
        var taken = $"taken-{Guid.NewGuid()}";
        Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(taken, [1])).Outcome);
        var keys = Enumerable.Range(0, 100).Select(_ => $"claim-{Guid.NewGuid()}").ToArray();
        var before = store.Counters;

        // A hundred new keys, and the taken key again with its own request and with another one, all at once.
        var fresh = keys.Select(k => store.ClaimAsync(k, [2])).ToArray();
        var again = store.ClaimAsync(taken, [1]);
        var other = store.ClaimAsync(taken, [3]);
        var outcomes = await Task.WhenAll([.. fresh, again, other]);

        Assert.All(outcomes[..keys.Length], claim => Assert.Equal(ClaimOutcome.Claimed, claim.Outcome));
        Assert.Equal(ClaimOutcome.InProgress, outcomes[^2].Outcome);
        Assert.Equal(ClaimOutcome.Mismatch, outcomes[^1].Outcome);
        var after = store.Counters;
        Assert.Equal(keys.Length + 2, after.Claims - before.Claims);
        Assert.True(after.ClaimStatements - before.ClaimStatements < keys.Length / 2, $"{after.ClaimStatements - before.ClaimStatements} statements for {keys.Length + 2} concurrent claims");

        // Fewer transactions than keys, and the taken key's row is still the first request's.
        await using var command = db.DataSource.CreateCommand(
            "select count(distinct xmin::text), bool_and(not completed) from idempotency_keys where idempotency_key = any($1)");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys });
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetInt64(0) < keys.Length / 2, $"{reader.GetInt64(0)} transactions for {keys.Length} claims");
            Assert.True(reader.GetBoolean(1));
        }

        await store.CompleteAsync(taken, new StoredResponse(202, "application/json", null, "{}"));
        Assert.Equal(ClaimOutcome.Completed, (await store.ClaimAsync(taken, [1])).Outcome);
        Assert.Equal(ClaimOutcome.Mismatch, (await store.ClaimAsync(taken, [3])).Outcome);
    }

    [Fact]
    public async Task Saga_index_rows_of_a_group_are_one_statement_and_a_saga_written_twice_keeps_its_later_row()
    {
        var now = _time.GetUtcNow();
        var (waiting, finished, twice) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        IRowAlongside[] rows =
        [
            OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(twice, false, null, now.AddSeconds(5), now),
            OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(waiting, false, null, now.AddSeconds(30), now),
            OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(finished, true, "Completed", null, now.AddSeconds(1)),
            OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(twice, true, "Cancelled", null, now.AddSeconds(2)),
        ];

        await using (var batch = db.DataSource.CreateBatch())
        {
            batch.BatchCommands.Add(rows[0].WriteAll(rows));
            Assert.Equal(3, await batch.ExecuteNonQueryAsync());
        }

        await using var read = db.DataSource.CreateCommand(
            "select order_id, finished, outcome, wake_at, started_at, updated_at from sagas where order_id = any($1)");
        read.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [waiting, finished, twice] });
        var found = new Dictionary<Guid, (bool Finished, string? Outcome, DateTimeOffset? WakeAt, DateTimeOffset Started, DateTimeOffset Updated)>();
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                found[reader.GetGuid(0)] = (reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5));
            }
        }

        Assert.Equal((false, null, now.AddSeconds(30), now, now), found[waiting]);
        Assert.Equal((true, "Completed", null, now.AddSeconds(1), now.AddSeconds(1)), found[finished]);
        Assert.Equal((true, "Cancelled", null, now.AddSeconds(2), now.AddSeconds(2)), found[twice]);

        // A later row updates a saga's row and keeps when it started.
        await using (var batch = db.DataSource.CreateBatch())
        {
            IRowAlongside[] later = [OrderPlatform.EventStore.Sagas.SagaIndex.Upsert(waiting, true, "Rejected", null, now.AddSeconds(40))];
            batch.BatchCommands.Add(later[0].WriteAll(later));
            await batch.ExecuteNonQueryAsync();
        }

        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                if (reader.GetGuid(0) == waiting)
                {
                    Assert.Equal((true, "Rejected", now, now.AddSeconds(40)), (reader.GetBoolean(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(4), reader.GetFieldValue<DateTimeOffset>(5)));
                }
            }
        }
    }

    [Fact]
    public async Task Responses_stored_alongside_appends_keep_a_keys_first_response_and_leave_completed_keys_alone()
    {
        var store = new IdempotencyStore(db.DataSource, _time, new IdempotencyStoreOptions());
        var (a, b, done) = ($"along-{Guid.NewGuid()}", $"along-{Guid.NewGuid()}", $"along-{Guid.NewGuid()}");
        foreach (var key in new[] { a, b, done })
        {
            Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, [1])).Outcome);
        }

        var earlier = new StoredResponse(202, "application/json", "/orders/done", "{}");
        await store.CompleteAsync(done, earlier);
        var first = new StoredResponse(202, "application/json", "/orders/a", """{"n":1}""");
        IRowAlongside[] rows =
        [
            IdempotencyStore.CompleteCommand(b, new StoredResponse(409, null, null, null)),
            IdempotencyStore.CompleteCommand(a, first),
            IdempotencyStore.CompleteCommand(a, new StoredResponse(500, null, null, null)),
            IdempotencyStore.CompleteCommand(done, new StoredResponse(410, null, null, null)),
        ];

        // Two appends at once (one group commit or two): whichever way they go, a key keeps the first response it was
        // given and a response stored already stays.
        var events = new PostgresEventStore(db.DataSource, _time);
        await Task.WhenAll(
            events.AppendAsync($"along-{Guid.NewGuid():N}", "test", 0, [Event()], rows[..2]),
            events.AppendAsync($"along-{Guid.NewGuid():N}", "test", 0, [Event()], rows[2..]));

        Assert.Equal(first, (await store.ClaimAsync(a, [1])).Response);
        Assert.Equal(new StoredResponse(409, null, null, null), (await store.ClaimAsync(b, [1])).Response);
        Assert.Equal(earlier, (await store.ClaimAsync(done, [1])).Response);
    }

    [Fact]
    public async Task Concurrent_completions_share_statements_and_each_key_replays_its_own_response()
    {
        var store = new IdempotencyStore(db.DataSource, _time, new IdempotencyStoreOptions());
        var keys = Enumerable.Range(0, 100).Select(n => (Key: $"complete-{Guid.NewGuid()}", Hash: new[] { (byte)n })).ToArray();
        foreach (var (key, hash) in keys)
        {
            Assert.Equal(ClaimOutcome.Claimed, (await store.ClaimAsync(key, hash)).Outcome);
        }

        // Every other response has no location and no body: nulls travel in the arrays too.
        static StoredResponse ResponseFor(int n) => n % 2 == 0
            ? new StoredResponse(202, "application/json", $"/orders/{n}", $$"""{"n":{{n}}}""")
            : new StoredResponse(409, null, null, null);
        await Task.WhenAll(keys.Select((k, n) => store.CompleteAsync(k.Key, ResponseFor(n))));

        for (var n = 0; n < keys.Length; n++)
        {
            var replay = await store.ClaimAsync(keys[n].Key, keys[n].Hash);
            Assert.Equal(ClaimOutcome.Completed, replay.Outcome);
            Assert.Equal(ResponseFor(n), replay.Response);
        }

        var (_, _, completions, statements) = store.Counters;
        Assert.Equal(keys.Length, completions);
        Assert.True(statements < keys.Length / 2, $"{statements} statements for {keys.Length} concurrent completions");
    }

    private static async Task<Exception?> Attempt(Func<Task> append)
    {
        try
        {
            await append();
            return null;
        }
        catch (ConcurrencyConflictException e)
        {
            return e;
        }
    }
}
