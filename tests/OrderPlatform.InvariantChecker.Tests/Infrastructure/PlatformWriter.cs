using System.Text.Json;
using Npgsql;
using OrderPlatform.Contracts;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.Projections;

namespace OrderPlatform.InvariantChecker.Tests.Infrastructure;

/// <summary>
/// Writes data the way the platform does: events through its event store with the stored names and JSON of its
/// event registries (outbox rows in the same statement), the saga index beside the saga's events, provider
/// operations as the payment simulator records them, and inbox rows through the real consumer's projector.
/// </summary>
internal sealed class PlatformWriter(NpgsqlDataSource dataSource) : IAsyncDisposable
{
    public const string ConsumerSchema = "projections";

    private readonly PostgresEventStore _store = new(dataSource, TimeProvider.System);
    private readonly KafkaTopics _topics = new();

    public NpgsqlDataSource DataSource => dataSource;

    public static PlatformWriter Open(string connectionString) => new(NpgsqlDataSource.Create(connectionString));

    public Task OrderAsync(Guid orderId, params OrderEvent[] events) =>
        AppendAsync(EventTypes.Orders, StreamIds.Order(orderId), "order", events);

    public Task StockAsync(string sku, params StockEvent[] events) =>
        AppendAsync(EventTypes.Stock, StreamIds.Stock(sku), "stock", events);

    public Task PaymentAsync(Guid orderId, params PaymentEvent[] events) =>
        AppendAsync(EventTypes.Payments, StreamIds.Payment(orderId), "payment", events);

    /// <summary>Saga events are stored unpublished, with the sagas row of the state they lead to, as the saga grain does.</summary>
    public async Task SagaAsync(Guid orderId, params SagaEvent[] events)
    {
        var streamId = StreamIds.Saga(orderId);
        var stored = await _store.ReadStreamAsync(streamId);
        var state = stored.SelectMany(e => EventTypes.Sagas.FromStorage(e.EventType, e.SchemaVersion, e.Data)).Aggregate(OrderSaga.Initial, (saga, e) => saga.Apply(e));
        state = events.Aggregate(state, (saga, e) => saga.Apply(e));
        var index = SagaIndex.Upsert(orderId, state.Phase == SagaPhase.Finished, state.Outcome?.ToString(), null, DateTimeOffset.UtcNow);
        await _store.AppendAsync(streamId, "saga", stored.Count, ToAppend(EventTypes.Sagas, events), [index], publish: false);
    }

    /// <summary>Appends at <paramref name="version"/> whatever the stream holds: the event store trusts its caller, so this can leave a gap.</summary>
    /// <summary>
    /// Writes one event at a given version straight into the table, as a writer outside the event store (a manual
    /// fix, an old tool) could: the store itself refuses to append anywhere but right after the last version.
    /// </summary>
    public Task AppendAtAsync(string streamId, int version, SagaEvent @event)
    {
        var (name, schemaVersion) = EventTypes.Sagas.Describe(@event);
        return ExecuteAsync(
            """
            insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
            values ($1, $2, gen_random_uuid(), $3, $4, $5::jsonb, '{}'::jsonb, now())
            """,
            streamId, version, name, schemaVersion, EventTypes.Sagas.Serialize(@event));
    }

    public Task ProviderAsync(Guid orderId, string operation, string paymentRef, decimal amount, bool approved, string currency = "EUR", string? key = null) =>
        ExecuteAsync(
            """
            insert into psp_simulator.operations (idempotency_key, operation, payment_ref, payment_token, amount, currency, outcome, reason, created_at)
            values ($1, $2, $3, 'tok_approve', $4, $5, $6, $7, now())
            """,
            key ?? $"{orderId:N}:{operation}", operation, paymentRef, amount, currency, approved ? "approved" : "declined", approved ? DBNull.Value : "Card declined (simulated).");

    /// <summary>A completed request as the host stores it: status, location and the JSON body of its response.</summary>
    public Task IdempotencyKeyAsync(string key, Guid orderId, string status) =>
        ExecuteAsync(
            """
            insert into idempotency_keys (idempotency_key, request_hash, completed, status_code, content_type, location, response_body, created_at, expires_at, lease_until)
            values ($1, sha256(convert_to($1, 'UTF8')), true, 202, 'application/json', $2, $3, now(), now() + interval '24 hours', now() + interval '30 seconds')
            """,
            key, $"/orders/{orderId}", JsonSerializer.Serialize(new { orderId, status, location = $"/orders/{orderId}" }, JsonSerializerOptions.Web));

    /// <summary>What the relay does once the broker acknowledged: every outbox row published.</summary>
    public Task PublishAllAsync() => ExecuteAsync("update outbox set published_at = now() where published_at is null");

    /// <summary>Feeds every published event the consumer has not seen through the real projector, in commit order, as if from Kafka.</summary>
    public async Task ApplyAllToInboxAsync()
    {
        var projector = new ReadModelProjector(dataSource);
        await projector.EnsureSchemaAsync(ConsumerSchema, CancellationToken.None);
        foreach (var envelope in await PublishedEventsAsync($"not exists (select 1 from {ConsumerSchema}.inbox i where i.event_id = e.event_id)"))
        {
            await projector.ApplyAsync(ConsumerSchema, envelope.Envelope, new MessageSource(TopicOf(envelope.Envelope.StreamId), 0, envelope.Position), CancellationToken.None);
        }
    }

    /// <summary>Every order, stock and payment event as the relay would publish it, in global order.</summary>
    public async Task<IReadOnlyList<(EventEnvelope Envelope, long Position)>> PublishedEventsAsync(string where = "true")
    {
        await using var command = dataSource.CreateCommand(
            $"""
            select event_id, event_type, schema_version, stream_id, version, recorded_at, metadata->>'correlationId', data::text, global_position
            from events e
            where (stream_id like 'order-%' or stream_id like 'stock-%' or stream_id like 'payment-%') and {where}
            order by global_position
            """);
        await using var reader = await command.ExecuteReaderAsync();
        var envelopes = new List<(EventEnvelope, long)>();
        while (await reader.ReadAsync())
        {
            using var data = JsonDocument.Parse(reader.GetString(7));
            envelopes.Add((new EventEnvelope(
                reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetFieldValue<DateTimeOffset>(5), reader.IsDBNull(6) ? null : reader.GetString(6), data.RootElement.Clone()), reader.GetInt64(8)));
        }

        return envelopes;
    }

    public string TopicOf(string streamId) => _topics.ForAggregate(streamId.Split('-', 2)[0])!;

    public async Task ExecuteAsync(string sql, params object?[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        }

        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = dataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private async Task AppendAsync<TEvent>(EventTypeRegistry<TEvent> registry, string streamId, string aggregateType, IReadOnlyList<TEvent> events)
        where TEvent : class
    {
        var version = await ScalarAsync<int>("select coalesce(max(version), 0) from events where stream_id = $1", streamId);
        await _store.AppendAsync(streamId, aggregateType, version, ToAppend(registry, events));
    }

    private static List<EventToAppend> ToAppend<TEvent>(EventTypeRegistry<TEvent> registry, IReadOnlyList<TEvent> events)
        where TEvent : class
    {
        var metadata = JsonSerializer.Serialize(new EventMetadata(null, "4bf92f3577b34da6a3ce929d0e0e4736"), EventJson.Options);
        return [.. registry.ForStorage(events).Select(row => new EventToAppend(Guid.CreateVersion7(), row.Name, row.SchemaVersion, row.Data, metadata))];
    }
}
