using System.Text;
using System.Text.RegularExpressions;
using Confluent.Kafka;
using OrderPlatform.Contracts;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// Outbox → relay → Kafka → consumer, with real Confluent.Kafka clients against librdkafka's mock cluster over
/// TCP, a real PostgreSQL and real silo and consumer processes.
/// </summary>
public sealed partial class KafkaPipelineTests(KafkaPlatformFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<KafkaPlatformFixture>
{
    private readonly Platform _api = fixture.Api;

    [GeneratedRegex("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")]
    private static partial Regex TraceParent();

    private async Task<(string Sku, List<Guid> Orders)> PlaceOrdersAsync(int count, string prefix)
    {
        var sku = $"{prefix}-{Guid.NewGuid():N}"[..20];
        await _api.RestockAsync(sku, count * 2);
        var tokens = new[] { "tok_approve", "tok_decline", "tok_approve", "tok_fail_1" };
        var orders = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            orders.Add(await _api.PlaceOrderAsync(tokens[i % tokens.Length], Platform.Line(sku, 1 + (i % 2))));
        }

        foreach (var order in orders)
        {
            await _api.WaitUntilFinishedAsync(order);
        }

        return (sku, orders);
    }

    private async Task WaitForRelayStatusAsync(Func<System.Text.Json.JsonElement, bool> condition, string what) =>
        await Eventually.HoldsAsync(fixture.RelayStatusAsync, condition, what);

    private static string[] StreamsOf(string sku, IEnumerable<Guid> orders) =>
        [$"stock-{sku}", .. orders.SelectMany(o => new[] { $"order-{o:N}", $"payment-{o:N}" })];

    /// <summary>(event id, stream, version) of every stored event of the given streams.</summary>
    private async Task<List<(Guid EventId, string StreamId, int Version)>> StoredEventsAsync(string[] streams)
    {
        await using var connection = new Npgsql.NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select event_id, stream_id, version from events where stream_id = any($1) order by global_position", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = streams });
        await using var reader = await command.ExecuteReaderAsync();
        var events = new List<(Guid, string, int)>();
        while (await reader.ReadAsync())
        {
            events.Add((reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2)));
        }

        return events;
    }

    /// <summary>Every stored event is on Kafka, keyed by its stream, and the first sighting of each event per key is in version order.</summary>
    private static void AssertCompleteAndOrdered(List<(Guid EventId, string StreamId, int Version)> stored, List<KafkaRecord> records)
    {
        var streams = stored.Select(e => e.StreamId).ToHashSet();
        var ours = records.Select(r => (Record: r, Envelope: r.TryEnvelope())).Where(x => x.Envelope is not null && streams.Contains(x.Envelope.StreamId))
            .Select(x => (x.Record, Envelope: x.Envelope!)).ToList();

        Assert.Equal(stored.Select(e => e.EventId).ToHashSet(), ours.Select(x => x.Envelope.EventId).ToHashSet());
        Assert.All(ours, x => Assert.Equal(x.Envelope.StreamId, x.Record.Key));
        foreach (var stream in ours.GroupBy(x => x.Envelope.StreamId))
        {
            Assert.Single(stream.Select(x => (x.Record.Topic, x.Record.Partition)).Distinct());
            var firstSightings = stream.OrderBy(x => x.Record.Offset).Select(x => x.Envelope.Version).Distinct().ToList();
            Assert.Equal(Enumerable.Range(1, firstSightings.Count), firstSightings);
        }
    }

    [Fact]
    public async Task Every_event_of_a_batch_of_orders_reaches_kafka_once_in_version_order_with_its_headers()
    {
        var (sku, orders) = await PlaceOrdersAsync(12, "batch");
        await fixture.WaitForEmptyOutboxAsync();
        var stored = await StoredEventsAsync(StreamsOf(sku, orders));

        var records = fixture.ReadAll([.. fixture.Topics.EventTopics]);

        AssertCompleteAndOrdered(stored, records);
        var storedIds = stored.Select(e => e.EventId).ToHashSet();
        var ours = records.Where(r => r.TryEnvelope() is { } envelope && storedIds.Contains(envelope.EventId)).ToList();
        Assert.Equal(stored.Count, ours.Count);
        Assert.All(ours, r =>
        {
            var envelope = r.Envelope;
            Assert.Equal(envelope.EventId.ToString(), r.Headers[EnvelopeHeaders.EventId]);
            Assert.Equal(envelope.Type, r.Headers[EnvelopeHeaders.EventType]);
            Assert.Equal(envelope.SchemaVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Headers[EnvelopeHeaders.SchemaVersion]);
            Assert.Matches(TraceParent(), r.Headers[EnvelopeHeaders.TraceParent]);
            Assert.Equal(envelope.Type.Split('.')[0] switch { "order" => fixture.Topics.Orders, "stock" => fixture.Topics.Inventory, _ => fixture.Topics.Payments }, r.Topic);
        });

        // The order's events carry the correlation id of the request that placed it, and the trace continues it.
        var placed = ours.Single(r => r.Envelope.Type == "order.placed" && r.Envelope.StreamId == $"order-{orders[0]:N}");
        Assert.False(string.IsNullOrEmpty(placed.Headers[EnvelopeHeaders.CorrelationId]));
        Assert.Contains(placed.Headers[EnvelopeHeaders.CorrelationId], placed.Headers[EnvelopeHeaders.TraceParent], StringComparison.Ordinal);

        // The saga's step log is internal: it never reaches the outbox.
        Assert.DoesNotContain(records, r => r.Key?.StartsWith("saga-", StringComparison.Ordinal) == true);
        await fixture.WaitForConsumerAsync([.. stored.Select(e => e.EventId)]);
    }

    [Fact]
    public async Task A_broker_down_for_ten_seconds_loses_nothing_and_reorders_nothing()
    {
        var sku = $"down-{Guid.NewGuid():N}"[..20];
        await _api.RestockAsync(sku, 100);
        var orders = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            orders.Add(await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1)));
        }

        fixture.Kafka.SetBrokerDown(1);
        try
        {
            // Orders keep coming while a third of the partitions have no leader.
            var downFor = System.Diagnostics.Stopwatch.StartNew();
            while (downFor.Elapsed < TimeSpan.FromSeconds(10))
            {
                orders.Add(await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1)));
                await Task.Delay(500);
            }

            // The rows for the broker's partitions wait: the relay's backlog count stops at its limit and says so.
            await WaitForRelayStatusAsync(s => s.GetProperty("backlogCapped").GetBoolean(), "the backlog count to reach its limit");
            var status = await fixture.RelayStatusAsync();
            Assert.Equal(KafkaPlatformFixture.BacklogCountLimit, status.GetProperty("backlog").GetInt64());
            Assert.True(status.GetProperty("oldestUnpublishedAgeSeconds").GetDouble() > 0);
            Assert.True(await _api.ScalarAsync<long>("select count(*) from outbox where published_at is null") > KafkaPlatformFixture.BacklogCountLimit);
        }
        finally
        {
            fixture.Kafka.SetBrokerUp(1);
        }

        var up = System.Diagnostics.Stopwatch.StartNew();
        foreach (var order in orders)
        {
            await _api.WaitUntilFinishedAsync(order);
        }

        output.WriteLine($"{orders.Count} orders finished {up.ElapsedMilliseconds} ms after the broker came back");
        await fixture.WaitForEmptyOutboxAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"outbox empty {up.ElapsedMilliseconds} ms after the broker came back");
        await WaitForRelayStatusAsync(s => s.GetProperty("backlog").GetInt64() == 0 && !s.GetProperty("backlogCapped").GetBoolean(), "the reported backlog to reach 0");
        var stored = await StoredEventsAsync(StreamsOf(sku, orders));
        AssertCompleteAndOrdered(stored, fixture.ReadAll([.. fixture.Topics.EventTopics]));
        await fixture.WaitForConsumerAsync([.. stored.Select(e => e.EventId)], TimeSpan.FromSeconds(90));
        output.WriteLine($"consumer caught up {up.ElapsedMilliseconds} ms after the broker came back");
    }

    [Fact]
    public async Task A_relay_that_died_between_publish_and_delete_publishes_again_and_the_consumer_applies_once()
    {
        var (sku, orders) = await PlaceOrdersAsync(4, "dup");
        await fixture.WaitForEmptyOutboxAsync();
        var streams = StreamsOf(sku, orders);
        var stored = await StoredEventsAsync(streams);
        await fixture.WaitForConsumerAsync([.. stored.Select(e => e.EventId)]);
        var stockBefore = await _api.ScalarAsync<string>($"select concat_ws(',', on_hand, reserved, sold, available) from {KafkaPlatformFixture.Schema}.stock_levels where sku = $1", sku);

        // The relay deletes rows as it publishes them (Relay:DeleteOnPublish): none is left behind.
        Assert.Equal(0L, await _api.ScalarAsync<long>("select count(*) from outbox where stream_id = any($1)", (object)streams));

        // What a relay killed after the broker's acknowledgement but before its delete leaves behind, put back from the
        // events as the README tells an operator to send events again.
        var reset = await _api.ScalarAsync<long>(
            """
            with r as (insert into outbox (global_position, stream_id, version, aggregate_type, created_at)
                       select global_position, stream_id, version, split_part(stream_id, '-', 1), now() from events
                       where stream_id = any($1) and stream_id not like 'saga-%' order by global_position returning 1)
            select count(*) from r
            """,
            (object)streams);
        Assert.Equal(stored.Count, reset);
        await fixture.WaitForEmptyOutboxAsync();

        var records = fixture.ReadAll([.. fixture.Topics.EventTopics]).Where(r => streams.Contains(r.Key)).ToList();
        Assert.All(records.GroupBy(r => r.Envelope.EventId), g => Assert.Equal(2, g.Count()));
        AssertCompleteAndOrdered(stored, records);

        // The duplicates reach the consumer, whose inbox skips them: each event applied once, read models unchanged.
        await WaitForConsumerOffsetsAsync(records);
        Assert.Equal((long)stored.Count, await _api.ScalarAsync<long>($"select count(*) from {KafkaPlatformFixture.Schema}.inbox where stream_id = any($1)", (object)streams));
        Assert.Equal(stockBefore, await _api.ScalarAsync<string>($"select concat_ws(',', on_hand, reserved, sold, available) from {KafkaPlatformFixture.Schema}.stock_levels where sku = $1", sku));
    }

    [Fact]
    public async Task A_poison_message_lands_on_the_dead_letter_topic_with_its_reason_and_the_consumer_keeps_going()
    {
        using (var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig { BootstrapServers = fixture.Kafka.BootstrapServers }).Build())
        {
            await producer.ProduceAsync(fixture.Topics.Orders, new Message<string, byte[]> { Key = "order-poison", Value = Encoding.UTF8.GetBytes("{ this is not an event") });
        }

        var (sku, orders) = await PlaceOrdersAsync(2, "after-poison");
        await fixture.WaitForEmptyOutboxAsync();
        await fixture.WaitForConsumerAsync([.. (await StoredEventsAsync(StreamsOf(sku, orders))).Select(e => e.EventId)]);

        await fixture.WaitForDeadLetterAsync(fixture.Topics.Orders);
        var parked = Assert.Single(fixture.ReadAll(fixture.Topics.DeadLetter), r => r.Key == "order-poison");
        Assert.Equal("{ this is not an event", Encoding.UTF8.GetString(parked.Value));
        Assert.Contains("JsonException", parked.Headers[EnvelopeHeaders.DeadLetterReason], StringComparison.Ordinal);
        Assert.Equal(fixture.Topics.Orders, parked.Headers[EnvelopeHeaders.DeadLetterTopic]);
        Assert.Equal("3", parked.Headers[EnvelopeHeaders.DeadLetterAttempts]);
        Assert.Equal(1L, await _api.ScalarAsync<long>($"select count(*) from {KafkaPlatformFixture.Schema}.dead_letters where kafka_topic = $1", fixture.Topics.Orders));
        Assert.Equal("Completed", await _api.ScalarAsync<string>($"select status from {KafkaPlatformFixture.Schema}.order_summaries where order_id = $1", orders[0]));
    }

    [Fact]
    public async Task A_consumer_killed_mid_stream_resumes_from_its_committed_offset_and_equals_a_rebuild()
    {
        var (sku, orders) = await PlaceOrdersAsync(6, "resume");
        fixture.Consumer.Kill();
        var (sku2, orders2) = await PlaceOrdersAsync(6, "resume2");
        fixture.Consumer = ConsumerProcess.Start(fixture.ConnectionString, fixture.Kafka.BootstrapServers, KafkaPlatformFixture.Schema, fixture.ConsumerGroup);

        await fixture.WaitForEmptyOutboxAsync();
        var stored = (await StoredEventsAsync(StreamsOf(sku, orders))).Concat(await StoredEventsAsync(StreamsOf(sku2, orders2))).ToList();
        await fixture.WaitForConsumerAsync([.. stored.Select(e => e.EventId)]);
        await WaitForConsumerOffsetsAsync([.. fixture.ReadAll([.. fixture.Topics.EventTopics]).Where(r => r.TryEnvelope() is not null)]);

        await using (var rebuild = ConsumerProcess.Start(fixture.ConnectionString, fixture.Kafka.BootstrapServers, "projections_rebuild", "unused", "--rebuild"))
        {
            Assert.Equal(0, await rebuild.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        }

        foreach (var table in new[] { "order_summaries", "stock_levels", "payment_summaries", "stream_positions" })
        {
            var difference = await _api.ScalarAsync<long>(
                $"select count(*) from ((table projections.{table} except table projections_rebuild.{table}) union all (table projections_rebuild.{table} except table projections.{table})) d");
            Assert.True(difference == 0, $"{table} differs from a rebuild in {difference} rows");
        }

        Assert.Equal(
            await _api.ScalarAsync<long>("select count(*) from projections_rebuild.inbox"),
            await _api.ScalarAsync<long>("select count(*) from projections.inbox"));
    }

    /// <summary>Waits until the consumer has handled every one of these records (its inbox has each event id, duplicates included).</summary>
    private async Task WaitForConsumerOffsetsAsync(List<KafkaRecord> records)
    {
        var ids = records.Select(r => r.TryEnvelope()?.EventId).OfType<Guid>().Distinct().ToList();
        await fixture.WaitForConsumerAsync(ids);

        // The inbox records first deliveries only; duplicates leave no trace, so wait for the group's committed offsets instead.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = fixture.Kafka.BootstrapServers, GroupId = fixture.ConsumerGroup }).Build();
        var needed = records.GroupBy(r => new TopicPartition(r.Topic, r.Partition)).ToDictionary(g => g.Key, g => g.Max(r => r.Offset) + 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var committed = consumer.Committed(needed.Keys, TimeSpan.FromSeconds(10));
            if (committed.All(c => c.Offset.Value >= needed[c.TopicPartition]))
            {
                return;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "The consumer group did not commit past the duplicates within 60 s.");
            await Task.Delay(200);
        }
    }
}
