using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Publishing;

/// <summary>
/// Invariant 4: every order, stock and payment event (saga streams are not published, docs/decisions/0006) is
/// published and applied once by the consumer, in version order per stream.
/// <list type="bullet">
/// <item>Outbox: no row unpublished for longer than the grace. An event without a row is fine: the relay deletes
/// rows as it publishes them (or marks them and purges them after its retention), and an event never announced cannot
/// be told from a deleted one.</item>
/// <item>Kafka (with --kafka): every published event id is on its topic, keyed by its stream, and per stream the
/// versions' first sightings only go up.</item>
/// <item>Consumer inbox (when the schema exists): every published event id is in the inbox, as the event it is;
/// none was recorded stale (arrived after a later version, so never applied); each stream's position is its
/// highest version in the inbox; the stock read model equals the replay of the stock stream up to that position.</item>
/// </list>
/// Events recorded within the in-flight grace, and events whose outbox row is still unpublished (the outbox rule
/// judges those), are not looked for on Kafka or in the inbox.
/// </summary>
internal static class PublishingCheck
{
    public const string Name = "events-published";

    /// <summary>
    /// An event the relay should have published by now. "not in" over a non-null column: PostgreSQL hashes the
    /// unpublished rows once, where a correlated "exists" in a select list would scan the outbox once per event.
    /// </summary>
    private const string Due = $"""
        {StoreSnapshot.PublishedStreams} and e.recorded_at <= $1
        and e.global_position not in (select o.global_position from outbox o where o.published_at is null)
        """;

    public static async Task<InvariantResult> RunAsync(
        StoreSnapshot snapshot, PlatformData data, CheckerOptions options, ConsumerSchema consumer, CancellationToken cancellationToken)
    {
        var result = new InvariantResultBuilder(4, Name, "Every order, stock and payment event is published to Kafka, and each consumer applies it exactly once, versions only going up within a stream.", options.MaxExamples);
        var eventsBefore = snapshot.Now - options.InFlightGrace;
        var rowsBefore = snapshot.Now - (options.OutboxGrace ?? options.InFlightGrace);

        await CheckOutboxAsync(snapshot, result, rowsBefore, options.MaxExamples, cancellationToken).ConfigureAwait(false);

        if (options.KafkaBootstrapServers is { } servers)
        {
            await CheckKafkaAsync(snapshot, result, options, servers, eventsBefore, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            result.Note("Kafka not read (no --kafka)");
        }

        if (consumer.Exists)
        {
            await CheckInboxAsync(snapshot, data, result, consumer, eventsBefore, options.MaxExamples, cancellationToken).ConfigureAwait(false);
        }
        else if (options.ConsumerSchemaRequired)
        {
            result.Rule("consumer schema missing").Add($"schema '{consumer.Schema}' has no inbox table");
        }
        else
        {
            result.Note($"consumer inbox not checked: schema '{consumer.Schema}' has no inbox table");
        }

        return result.Build();
    }

    private static async Task CheckOutboxAsync(StoreSnapshot snapshot, InvariantResultBuilder result, DateTimeOffset rowsBefore, int maxExamples, CancellationToken cancellationToken)
    {
        var overdue = result.Rule("unpublished past grace");
        var mismatched = result.Rule("outbox row disagrees with its event");
        var sagaRows = result.Rule("saga event in outbox");

        var (events, withoutRow, unpublished) = (0L, 0L, 0L);
        await snapshot.ReadAsync(
            $"""
            select count(*), count(*) filter (where o.global_position is null), count(*) filter (where o.unpublished > 0)
            from events e
            left join (select global_position, count(*) filter (where published_at is null) as unpublished
                       from outbox group by global_position) o on o.global_position = e.global_position
            where {StoreSnapshot.PublishedStreams}
            """,
            row => (events, withoutRow, unpublished) = (row.GetInt64(0), row.GetInt64(1), row.GetInt64(2)),
            cancellationToken).ConfigureAwait(false);
        result.Count("events", events);
        result.Count("published, row marked", events - withoutRow - unpublished);
        result.Count("published, row deleted", withoutRow);
        result.Count("unpublished", unpublished);

        var (count, examples) = await snapshot.CountWithExamplesAsync(
            """
            select o.stream_id, o.version, o.created_at, count(*) over () from outbox o
            where o.published_at is null and o.created_at <= $1 order by o.id limit $2
            """,
            row => $"{row.GetString(0)} v{row.GetInt32(1)}: unpublished for {Format.Age(snapshot.Now - row.GetFieldValue<DateTimeOffset>(2))}",
            cancellationToken,
            rowsBefore,
            maxExamples).ConfigureAwait(false);
        overdue.Add(count, examples);

        (count, examples) = await snapshot.CountWithExamplesAsync(
            """
            select o.id, o.stream_id, o.version, o.aggregate_type, e.stream_id, e.version, o.global_position, count(*) over ()
            from outbox o left join events e on e.global_position = o.global_position
            where e.global_position is null
               or (e.stream_id not like 'saga-%'
                   and (o.stream_id <> e.stream_id or o.version <> e.version
                        or o.aggregate_type is distinct from case when e.stream_id like 'order-%' then 'order'
                                                                  when e.stream_id like 'stock-%' then 'stock'
                                                                  when e.stream_id like 'payment-%' then 'payment' end))
            order by o.id limit $1
            """,
            // No foreign key ties an outbox row to its event (sql/0008): a row whose event is missing is caught here.
            row => $"outbox {row.GetInt64(0)} ({row.GetString(3)} {row.GetString(1)} v{row.GetInt32(2)}) announces "
                + (row.IsDBNull(4) ? $"global position {row.GetInt64(6)}, which holds no event" : $"{row.GetString(4)} v{row.GetInt32(5)}"),
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        mismatched.Add(count, examples);

        (count, examples) = await snapshot.CountWithExamplesAsync(
            """
            select o.stream_id, o.version, count(*) over () from outbox o join events e on e.global_position = o.global_position
            where e.stream_id like 'saga-%' order by o.id limit $1
            """,
            row => $"{row.GetString(0)} v{row.GetInt32(1)}",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        sagaRows.Add(count, examples);

        var announcedTwice = await snapshot.ScalarAsync<long>(
            "select count(*) from (select 1 from outbox group by global_position having count(*) > 1) d", cancellationToken).ConfigureAwait(false);
        if (announcedTwice > 0)
        {
            result.Note($"{announcedTwice} event(s) with more than one outbox row (each row is published)");
        }
    }

    private static async Task CheckKafkaAsync(
        StoreSnapshot snapshot, InvariantResultBuilder result, CheckerOptions options, string servers, DateTimeOffset eventsBefore, CancellationToken cancellationToken)
    {
        var missing = result.Rule("missing on Kafka");
        var outOfOrder = result.Rule("out of version order on Kafka");
        var misrouted = result.Rule("wrong topic or key on Kafka");
        var different = result.Rule("Kafka message differs from stored event");

        var sightings = new KafkaSightings(options.Topics, outOfOrder, misrouted);
        var read = await Task.Run(() => KafkaTopicReader.Read(servers, options.Topics.EventTopics, options.KafkaTimeout, sightings.Observe, cancellationToken), cancellationToken).ConfigureAwait(false);

        long due = 0, known = 0;
        await snapshot.ReadAsync(
            $"""
            select e.event_id, e.stream_id, e.version, e.event_type, {Due} from events e
            where {StoreSnapshot.PublishedStreams} order by e.global_position
            """,
            row =>
            {
                var (eventId, streamId, version, type, isDue) = (row.GetGuid(0), row.GetString(1), row.GetInt32(2), row.GetString(3), row.GetBoolean(4));
                var seen = sightings.TryGet(eventId, out var sighting);
                known += seen ? 1 : 0;
                if (!isDue)
                {
                    return;
                }

                due++;
                if (!seen)
                {
                    missing.Add($"{streamId} v{version} {type} ({eventId})");
                }
                else if (sighting != (streamId, version, type))
                {
                    different.Add($"{eventId}: stored {streamId} v{version} {type}, on Kafka {sighting.StreamId} v{sighting.Version} {sighting.Type}");
                }
            },
            cancellationToken,
            eventsBefore).ConfigureAwait(false);

        result.Count("partitions read", read.Partitions);
        result.Count("messages", read.Messages);
        result.Count("due on Kafka", due);
        result.Count("duplicates on Kafka", sightings.Duplicates);
        if (read.MissingTopics.Count > 0)
        {
            result.Note($"topic(s) not found: {string.Join(", ", read.MissingTopics)}");
        }

        if (read.TruncatedPartitions > 0)
        {
            result.Note($"{read.TruncatedPartitions} partition(s) no longer start at offset 0 (retention): their oldest events show as missing");
        }

        if (sightings.Unreadable > 0)
        {
            result.Note($"{sightings.Unreadable} message(s) on the event topics are not event envelopes");
        }

        if (sightings.DistinctEvents - known > 0)
        {
            result.Note($"{sightings.DistinctEvents - known} event id(s) on Kafka that the snapshot does not hold (appended since, or from another database)");
        }
    }

    private static async Task CheckInboxAsync(
        StoreSnapshot snapshot, PlatformData data, InvariantResultBuilder result, ConsumerSchema consumer, DateTimeOffset eventsBefore, int maxExamples, CancellationToken cancellationToken)
    {
        var missing = result.Rule("missing from inbox");
        var different = result.Rule("inbox row differs from stored event");
        var stale = result.Rule("recorded stale, never applied");
        var position = result.Rule("stream position differs from inbox");
        var readModel = result.Rule("stock read model differs from replay");
        var s = StoreSnapshot.QuoteIdentifier(consumer.Schema);

        var (count, examples) = await snapshot.CountWithExamplesAsync(
            $"""
            select e.stream_id, e.version, e.event_type, e.event_id, count(*) over () from events e
            where {Due} and not exists (select 1 from {s}.inbox i where i.event_id = e.event_id)
            order by e.global_position limit $2
            """,
            row => $"{row.GetString(0)} v{row.GetInt32(1)} {row.GetString(2)} ({row.GetGuid(3)})",
            cancellationToken,
            eventsBefore,
            maxExamples).ConfigureAwait(false);
        missing.Add(count, examples);

        (count, examples) = await snapshot.CountWithExamplesAsync(
            $"""
            select i.event_id, i.stream_id, i.version, i.event_type, e.stream_id, e.version, e.event_type, count(*) over ()
            from {s}.inbox i join events e on e.event_id = i.event_id
            where (i.stream_id, i.version, i.event_type) is distinct from (e.stream_id, e.version, e.event_type)
            order by i.applied_at limit $1
            """,
            row => $"{row.GetGuid(0)}: inbox {row.GetString(1)} v{row.GetInt32(2)} {row.GetString(3)}, stored {row.GetString(4)} v{row.GetInt32(5)} {row.GetString(6)}",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        different.Add(count, examples);

        // The inbox keeps where each event first arrived; a lower version arriving after a higher one on the same
        // partition was recorded as stale by the consumer and never applied to the read models.
        (count, examples) = await snapshot.CountWithExamplesAsync(
            $"""
            select stream_id, lower_version, lower_offset, version, kafka_offset, count(*) over () from (
                select stream_id, version, kafka_topic, kafka_partition, kafka_offset,
                       lag(version) over w as lower_version, lag(kafka_topic) over w as lower_topic,
                       lag(kafka_partition) over w as lower_partition, lag(kafka_offset) over w as lower_offset
                from {s}.inbox window w as (partition by stream_id order by version)) x
            where lower_topic = kafka_topic and lower_partition = kafka_partition and lower_offset > kafka_offset
            order by stream_id, version limit $1
            """,
            row => $"{row.GetString(0)}: v{row.GetInt32(1)} arrived at offset {row.GetInt64(2)}, after v{row.GetInt32(3)} at {row.GetInt64(4)}",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        stale.Add(count, examples);

        (count, examples) = await snapshot.CountWithExamplesAsync(
            $"""
            select coalesce(p.stream_id, m.stream_id), p.version, m.version, count(*) over ()
            from {s}.stream_positions p
            full join (select stream_id, max(version) as version from {s}.inbox group by stream_id) m on m.stream_id = p.stream_id
            where p.version is distinct from m.version
            order by 1 limit $1
            """,
            row => $"{row.GetString(0)}: position {(row.IsDBNull(1) ? "none" : $"v{row.GetInt32(1)}")}, inbox up to {(row.IsDBNull(2) ? "nothing" : $"v{row.GetInt32(2)}")}",
            cancellationToken,
            maxExamples).ConfigureAwait(false);
        position.Add(count, examples);

        var levels = new Dictionary<string, (long OnHand, long Reserved, long Sold)>(StringComparer.Ordinal);
        if (await snapshot.RelationExistsAsync($"{s}.stock_levels", cancellationToken).ConfigureAwait(false))
        {
            await snapshot.ReadAsync(
                $"select sku, on_hand, reserved, sold from {s}.stock_levels",
                row => levels.Add("stock-" + row.GetString(0), (row.GetInt32(1), row.GetInt32(2), row.GetInt32(3))),
                cancellationToken).ConfigureAwait(false);
        }

        foreach (var streamId in data.Stock.Keys.Union(levels.Keys).Order(StringComparer.Ordinal))
        {
            var stock = data.Stock.GetValueOrDefault(streamId);
            var actual = levels.GetValueOrDefault(streamId);
            var expected = stock?.Captured ?? (0, 0, 0);
            if (stock?.CaptureAt is { } at && stock.Captured is null)
            {
                readModel.Add($"{streamId}: position v{at}, but the stream ends at v{stock.LastVersion}");
            }
            else if (actual != expected)
            {
                var asOf = stock?.CaptureAt is { } v ? $"v{v}" : "nothing applied";
                readModel.Add($"{streamId}: read model on hand/reserved/sold {actual.OnHand}/{actual.Reserved}/{actual.Sold}, replay as of {asOf} {expected.OnHand}/{expected.Reserved}/{expected.Sold}");
            }
        }

        var (inboxRows, unknown) = (0L, 0L);
        await snapshot.ReadAsync(
            $"select count(*), count(*) filter (where not exists (select 1 from events e where e.event_id = i.event_id)) from {s}.inbox i",
            row => (inboxRows, unknown) = (row.GetInt64(0), row.GetInt64(1)),
            cancellationToken).ConfigureAwait(false);
        result.Count("inbox", inboxRows);
        if (unknown > 0)
        {
            result.Note($"{unknown} inbox row(s) for event ids the store does not hold");
        }

        if (await snapshot.RelationExistsAsync($"{s}.dead_letters", cancellationToken).ConfigureAwait(false)
            && await snapshot.ScalarAsync<long>($"select count(*) from {s}.dead_letters", cancellationToken).ConfigureAwait(false) is > 0 and var parked)
        {
            result.Note($"{parked} message(s) parked on the dead-letter topic by the consumer");
        }
    }
}

/// <summary>The downstream consumer's schema, and the stream positions it reports, read before the streams are replayed.</summary>
internal sealed record ConsumerSchema(string Schema, bool Exists, IReadOnlyDictionary<string, int> StockPositions)
{
    public static async Task<ConsumerSchema> LoadAsync(StoreSnapshot snapshot, string schema, CancellationToken cancellationToken)
    {
        var s = StoreSnapshot.QuoteIdentifier(schema);
        if (!await snapshot.RelationExistsAsync($"{s}.inbox", cancellationToken).ConfigureAwait(false))
        {
            return new ConsumerSchema(schema, false, new Dictionary<string, int>());
        }

        var positions = new Dictionary<string, int>(StringComparer.Ordinal);
        if (await snapshot.RelationExistsAsync($"{s}.stream_positions", cancellationToken).ConfigureAwait(false))
        {
            await snapshot.ReadAsync(
                $"select stream_id, version from {s}.stream_positions where stream_id like 'stock-%'",
                row => positions.Add(row.GetString(0), row.GetInt32(1)),
                cancellationToken).ConfigureAwait(false);
        }

        return new ConsumerSchema(schema, true, positions);
    }
}
