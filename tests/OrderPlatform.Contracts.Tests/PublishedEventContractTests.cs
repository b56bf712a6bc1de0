using System.Text.Json;
using System.Text.Json.Nodes;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Contracts.Tests;

/// <summary>
/// The published events' shapes against src/OrderPlatform.Contracts/schemas/events.v1.json, the contract
/// downstream teams read. Removing or retyping a field without a new schema version fails; so does a new
/// field or type nobody documented. Set UPDATE_EVENT_SCHEMAS=1 to rewrite the file after a deliberate change.
/// </summary>
public sealed class PublishedEventContractTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid OrderId = Guid.Parse("0193a1b2-0000-7000-8000-000000000001");
    private static readonly Money Amount = new(19.99m, "EUR");

    /// <summary>One example of every published event; a registered type without one fails the test below.</summary>
    private static readonly object[] Samples =
    [
        new OrderPlaced(OrderId, "customer-1", [new OrderLine("SKU-1", 2, 9.995m)], Amount, At),
        new OrderConfirmed(At),
        new OrderRejected("Out of stock for SKU-1", At),
        new OrderCancelled("Cancelled by the customer.", At),
        new OrderCompleted(At),
        new StockRestocked(10),
        new StockReserved(OrderId, 2, At.AddMinutes(2), At),
        new StockReservationRejected(OrderId, 5, 3, At.AddMinutes(2), At),
        new StockReleased(OrderId, 2, At.AddMinutes(2)),
        new StockCommitted(OrderId, 2, At.AddMinutes(2)),
        new PaymentAuthorized(OrderId, Amount, "psp-ref-1", At),
        new PaymentDeclined(OrderId, Amount, "Card declined.", At),
        new PaymentCaptured(Amount, At),
        new PaymentVoided("Order cancelled.", At),
        new PaymentRefunded(Amount, At),
    ];

    private static string SchemaFile
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "src", "OrderPlatform.Contracts", "schemas", "events.v1.json");
                if (File.Exists(Path.Combine(dir.FullName, "OrderPlatform.sln")))
                {
                    return candidate;
                }
            }

            throw new InvalidOperationException("Repository root not found.");
        }
    }

    [Fact]
    public void Published_events_keep_the_documented_shape()
    {
        var current = CurrentShapes();
        if (Environment.GetEnvironmentVariable("UPDATE_EVENT_SCHEMAS") == "1")
        {
            File.WriteAllText(SchemaFile, current.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }

        var documented = JsonNode.Parse(File.ReadAllText(SchemaFile))!.AsObject();
        var problems = new List<string>();
        foreach (var (type, node) in documented)
        {
            if (current[type] is not JsonObject now)
            {
                problems.Add($"{type}: documented but no longer published (consumers depend on it).");
                continue;
            }

            var documentedVersion = node!["schemaVersion"]!.GetValue<int>();
            var currentVersion = now["schemaVersion"]!.GetValue<int>();
            var documentedFields = node["fields"]!.AsObject();
            var currentFields = now["fields"]!.AsObject();
            foreach (var (field, kind) in documentedFields)
            {
                var actual = currentFields[field]?.GetValue<string>();
                if (actual != kind!.GetValue<string>() && currentVersion == documentedVersion)
                {
                    problems.Add($"{type} v{currentVersion}: field '{field}' was {kind} and is now {actual ?? "gone"}: an incompatible change needs a new schema version.");
                }
            }

            foreach (var (field, kind) in currentFields.Where(f => !documentedFields.ContainsKey(f.Key)))
            {
                problems.Add($"{type}: new field '{field}' ({kind}) is not documented in events.v1.json.");
            }

            if (currentVersion != documentedVersion)
            {
                problems.Add($"{type}: schema version {currentVersion} is not documented (the file says {documentedVersion}).");
            }
        }

        foreach (var (type, _) in current.Where(t => !documented.ContainsKey(t.Key)))
        {
            problems.Add($"{type}: published but not documented in events.v1.json.");
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_envelope_has_the_documented_fields()
    {
        var envelope = new EventEnvelope(Guid.NewGuid(), "order.completed", 1, "order-x", 3, At, "corr", JsonDocument.Parse("""{"completedAt":"2026-11-23T12:00:00+00:00"}""").RootElement);

        var json = JsonNode.Parse(envelope.ToUtf8())!.AsObject();

        Assert.Equal(["eventId", "type", "schemaVersion", "streamId", "version", "occurredAt", "correlationId", "data"], json.Select(p => p.Key));
        Assert.Equal(envelope with { Data = default }, EventEnvelope.Parse(envelope.ToUtf8()) with { Data = default });
    }

    [Theory]
    [InlineData("corr-1", """{"orderId":"0193a1b2-0000-7000-8000-000000000001","lines":[{"sku":"SKU-\u00e9\"1","quantity":2}],"note":null}""")]
    [InlineData(null, """{"completedAt":"2026-11-23T12:00:00+00:00"}""")]
    public void An_envelope_written_from_stored_data_reads_as_the_envelope_serialized(string? correlationId, string data)
    {
        var eventId = Guid.CreateVersion7(At);
        var envelope = new EventEnvelope(eventId, "order.placed", 1, "order-x", 3, At.AddTicks(1234567), correlationId, JsonDocument.Parse(data).RootElement);

        var written = EventEnvelope.ToUtf8(eventId, "order.placed", 1, "order-x", 3, At.AddTicks(1234567), correlationId, data);

        // The fields in the same order, the data as stored (escaped as stored: the same JSON values).
        var parsed = EventEnvelope.Parse(written);
        Assert.Equal(JsonNode.Parse(envelope.ToUtf8())!.AsObject().Select(p => p.Key), JsonNode.Parse(written)!.AsObject().Select(p => p.Key));
        Assert.Equal(envelope with { Data = default }, parsed with { Data = default });
        Assert.True(JsonElement.DeepEquals(envelope.Data, parsed.Data));
        Assert.EndsWith($"\"data\":{data}}}", System.Text.Encoding.UTF8.GetString(written), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"a\":")]
    [InlineData("not json")]
    public void Stored_data_that_is_not_json_is_not_written_into_an_envelope(string data)
    {
        Assert.ThrowsAny<JsonException>(() => EventEnvelope.ToUtf8(Guid.NewGuid(), "order.placed", 1, "order-x", 1, At, null, data));
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("""{"eventId":"00000000-0000-0000-0000-000000000000","type":"t","schemaVersion":1,"streamId":"s","version":1,"data":{}}""")]
    [InlineData("""{"eventId":"0193a1b2-0000-7000-8000-000000000001","type":"t","schemaVersion":1,"streamId":"s","version":0,"data":{}}""")]
    [InlineData("""{"eventId":"0193a1b2-0000-7000-8000-000000000001","type":"t","schemaVersion":1,"streamId":"s","version":1,"data":[]}""")]
    [InlineData("not json")]
    public void An_incomplete_envelope_is_refused(string json)
    {
        Assert.ThrowsAny<JsonException>(() => EventEnvelope.Parse(System.Text.Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Every_published_event_type_has_a_sample()
    {
        var registered = EventTypes.Orders.Names.Concat(EventTypes.Stock.Names).Concat(EventTypes.Payments.Names).Order().ToList();
        Assert.Equal(registered, CurrentShapes().Select(p => p.Key).Order().ToList());
    }

    private static JsonObject CurrentShapes()
    {
        var shapes = new JsonObject();
        foreach (var sample in Samples)
        {
            var (name, version, json) = sample switch
            {
                OrderEvent e => Describe(EventTypes.Orders, e),
                StockEvent e => Describe(EventTypes.Stock, e),
                PaymentEvent e => Describe(EventTypes.Payments, e),
                _ => throw new InvalidOperationException(sample.GetType().Name),
            };
            var fields = new JsonObject();
            Flatten(JsonNode.Parse(json)!, "", fields);
            shapes[name] = new JsonObject { ["schemaVersion"] = version, ["fields"] = fields };
        }

        return shapes;
    }

    private static (string, int, string) Describe<TEvent>(EventTypeRegistry<TEvent> registry, TEvent e)
        where TEvent : class
    {
        var (name, version) = registry.Describe(e);
        return (name, version, registry.Serialize(e));
    }

    private static void Flatten(JsonNode node, string path, JsonObject into)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    var child = path.Length == 0 ? key : $"{path}.{key}";
                    into[child] = Kind(value);
                    if (value is JsonObject or JsonArray)
                    {
                        Flatten(value, child, into);
                    }
                }

                break;
            case JsonArray array when array.Count > 0 && array[0] is { } first:
                into[$"{path}[]"] = Kind(first);
                if (first is JsonObject)
                {
                    Flatten(first, $"{path}[]", into);
                }

                break;
        }
    }

    private static string Kind(JsonNode? node) => node?.GetValueKind() switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => "null",
    };
}
