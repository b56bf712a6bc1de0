using System.Text.Json;
using Npgsql;
using OrderPlatform.Contracts;

namespace OrderPlatform.Projections;

public enum ApplyOutcome
{
    Applied,
    /// <summary>The event id was applied before (a redelivery or a republished duplicate).</summary>
    Duplicate,
    /// <summary>An older version of a stream than one already applied; recorded in the inbox, not applied.</summary>
    Stale,
    /// <summary>An event type this consumer does not read; recorded so it is not looked at again.</summary>
    Ignored,
}

/// <summary>Where a message came from, for the inbox and the dead-letter record.</summary>
public sealed record MessageSource(string Topic, int Partition, long Offset);

/// <summary>
/// Applies one event to the read models inside one transaction together with its inbox row, so an event
/// is applied at most once whatever Kafka redelivers.
/// </summary>
public sealed class ReadModelProjector(NpgsqlDataSource dataSource)
{
    public static string Schema() => ReadResource("read_models.sql");

    public async Task EnsureSchemaAsync(string schema, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"create schema if not exists {Quote(schema)}; set search_path to {Quote(schema)}; {Schema()}", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Empties the read models and the inbox before a rebuild.</summary>
    public async Task ResetAsync(string schema, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"truncate {Quote(schema)}.inbox, {Quote(schema)}.stream_positions, {Quote(schema)}.order_summaries, " +
            $"{Quote(schema)}.stock_levels, {Quote(schema)}.payment_summaries, {Quote(schema)}.dead_letters");
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<ApplyOutcome> ApplyAsync(string schema, EventEnvelope envelope, MessageSource source, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, $"set local search_path to {Quote(schema)}", cancellationToken);

        var inserted = await ExecuteAsync(connection, transaction,
            """
            insert into inbox (event_id, stream_id, version, event_type, kafka_topic, kafka_partition, kafka_offset)
            values ($1, $2, $3, $4, $5, $6, $7) on conflict (event_id) do nothing
            """,
            cancellationToken, envelope.EventId, envelope.StreamId, envelope.Version, envelope.Type, source.Topic, source.Partition, source.Offset);
        if (inserted == 0)
        {
            return ApplyOutcome.Duplicate;
        }

        var advanced = await ExecuteAsync(connection, transaction,
            """
            insert into stream_positions (stream_id, version) values ($1, $2)
            on conflict (stream_id) do update set version = excluded.version where stream_positions.version < excluded.version
            """,
            cancellationToken, envelope.StreamId, envelope.Version);
        if (advanced == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return ApplyOutcome.Stale;
        }

        var applied = await ProjectAsync(connection, transaction, envelope, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return applied ? ApplyOutcome.Applied : ApplyOutcome.Ignored;
    }

    public async Task RecordDeadLetterAsync(string schema, MessageSource source, string reason, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"insert into {Quote(schema)}.dead_letters (kafka_topic, kafka_partition, kafka_offset, reason) values ($1, $2, $3, $4) on conflict do nothing");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = source.Topic });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = source.Partition });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = source.Offset });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool> ProjectAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, EventEnvelope e, CancellationToken ct)
    {
        var data = e.Data;
        var at = e.OccurredAt;
        switch (e.Type)
        {
            case "order.placed":
                var total = data.GetProperty("total");
                await ExecuteAsync(connection, transaction,
                    """
                    insert into order_summaries (order_id, customer_id, status, total, currency, line_count, placed_at, updated_at)
                    values ($1, $2, 'Placed', $3, $4, $5, $6, $6)
                    on conflict (order_id) do nothing
                    """,
                    ct, Required(data, "orderId").GetGuid(), Required(data, "customerId").GetString()!, Required(total, "amount").GetDecimal(),
                    Required(total, "currency").GetString()!, Required(data, "lines").GetArrayLength(), at);
                return true;
            case "order.confirmed" or "order.completed" or "order.rejected" or "order.cancelled":
                var status = e.Type switch
                {
                    "order.confirmed" => "Confirmed",
                    "order.completed" => "Completed",
                    "order.rejected" => "Rejected",
                    _ => "Cancelled",
                };
                var reason = data.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                await ExecuteAsync(connection, transaction,
                    "update order_summaries set status = $2, reason = coalesce($3, reason), updated_at = $4 where order_id = $1",
                    ct, OrderIdOf(e.StreamId, "order-"), status, (object?)reason ?? DBNull.Value, at);
                return true;
            case "stock.restocked" or "stock.reserved" or "stock.released" or "stock.committed":
                var quantity = Required(data, "quantity").GetInt32();
                var (onHand, reserved, sold) = e.Type switch
                {
                    "stock.restocked" => (quantity, 0, 0),
                    "stock.reserved" => (0, quantity, 0),
                    "stock.released" => (0, -quantity, 0),
                    _ => (0, -quantity, quantity),
                };
                await ExecuteAsync(connection, transaction,
                    """
                    insert into stock_levels (sku, on_hand, reserved, sold, updated_at) values ($1, $2, $3, $4, $5)
                    on conflict (sku) do update set on_hand = stock_levels.on_hand + $2, reserved = stock_levels.reserved + $3,
                                                    sold = stock_levels.sold + $4, updated_at = $5
                    """,
                    ct, e.StreamId["stock-".Length..], onHand, reserved, sold, at);
                return true;
            case "stock.reservation-rejected":
                return false;
            case "payment.authorized" or "payment.declined":
                var amount = Required(data, "amount");
                await ExecuteAsync(connection, transaction,
                    """
                    insert into payment_summaries (order_id, status, amount, currency, updated_at) values ($1, $2, $3, $4, $5)
                    on conflict (order_id) do update set status = excluded.status, amount = excluded.amount, currency = excluded.currency, updated_at = $5
                    """,
                    ct, Required(data, "orderId").GetGuid(), e.Type == "payment.authorized" ? "Authorized" : "Declined",
                    Required(amount, "amount").GetDecimal(), Required(amount, "currency").GetString()!, at);
                return true;
            case "payment.captured" or "payment.refunded" or "payment.voided":
                var money = e.Type == "payment.voided" ? 0m : Required(Required(data, "amount"), "amount").GetDecimal();
                await ExecuteAsync(connection, transaction,
                    """
                    insert into payment_summaries (order_id, status, captured, refunded, updated_at) values ($1, $2, $3, $4, $5)
                    on conflict (order_id) do update set status = excluded.status, captured = payment_summaries.captured + $3,
                                                         refunded = payment_summaries.refunded + $4, updated_at = $5
                    """,
                    ct, OrderIdOf(e.StreamId, "payment-"),
                    e.Type switch { "payment.captured" => "Captured", "payment.refunded" => "Refunded", _ => "Voided" },
                    e.Type == "payment.captured" ? money : 0m, e.Type == "payment.refunded" ? money : 0m, at);
                return true;
            default:
                // A type added after this consumer was written: forward compatible, not poison.
                return false;
        }
    }

    private static JsonElement Required(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null
            ? value
            : throw new JsonException($"The event data has no '{property}'.");

    private static Guid OrderIdOf(string streamId, string prefix) =>
        streamId.StartsWith(prefix, StringComparison.Ordinal) && Guid.TryParseExact(streamId[prefix.Length..], "N", out var id)
            ? id
            : throw new JsonException($"Stream id '{streamId}' is not '{prefix}<order id>'.");

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken ct, params object[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return await command.ExecuteNonQueryAsync(ct);
    }

    private static string Quote(string identifier) =>
        identifier.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_') && identifier.Length is > 0 and < 64
            ? identifier
            : throw new ArgumentException($"'{identifier}' is not a plain lower-case schema name.", nameof(identifier));

    private static string ReadResource(string name)
    {
        using var stream = typeof(ReadModelProjector).Assembly.GetManifestResourceStream("projections/" + name)
            ?? throw new InvalidOperationException($"Embedded resource {name} is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
