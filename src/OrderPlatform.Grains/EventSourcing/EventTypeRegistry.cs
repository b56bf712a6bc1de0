using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using OrderPlatform.Domain;

namespace OrderPlatform.Grains.EventSourcing;

/// <summary>
/// The stored name and schema version of every event type, written out explicitly: renaming or moving a
/// class never changes what is in the database, and an unknown stored name fails loudly.
/// </summary>
public sealed class EventTypeRegistry<TEvent>
    where TEvent : class
{
    private readonly Dictionary<Type, (string Name, int SchemaVersion)> _byType = [];
    private readonly Dictionary<string, Type> _byName = new(StringComparer.Ordinal);

    public EventTypeRegistry<TEvent> Register<T>(string name, int schemaVersion)
        where T : TEvent
    {
        _byType.Add(typeof(T), (name, schemaVersion));
        _byName.Add(name, typeof(T));
        return this;
    }

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public (string Name, int SchemaVersion) Describe(TEvent @event) =>
        _byType.TryGetValue(@event.GetType(), out var entry)
            ? entry
            : throw new InvalidOperationException($"Event type {@event.GetType().Name} is not registered.");

    public string Serialize(TEvent @event) => JsonSerializer.Serialize(@event, @event.GetType(), EventJson.Options);

    public TEvent Deserialize(string name, int schemaVersion, string json)
    {
        if (!_byName.TryGetValue(name, out var type))
        {
            throw new InvalidOperationException($"Stored event type '{name}' is not registered.");
        }

        var expected = _byType[type].SchemaVersion;
        if (schemaVersion > expected)
        {
            throw new InvalidOperationException($"Stored event '{name}' has schema version {schemaVersion}; this build reads up to {expected}.");
        }

        return (TEvent)(JsonSerializer.Deserialize(json, type, EventJson.Options)
            ?? throw new InvalidOperationException($"Stored event '{name}' is null."));
    }
}

/// <summary>JSON settings for stored events and their metadata.</summary>
public static class EventJson
{
    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };
        options.Converters.Add(new JsonStringEnumConverter());
        options.Converters.Add(new MoneyJsonConverter());
        options.MakeReadOnly();
        return options;
    }

    private sealed class MoneyJsonConverter : JsonConverter<Money>
    {
        public override Money Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            decimal? amount = null;
            string? currency = null;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new JsonException("Money must be an object.");
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
            {
                var property = reader.GetString();
                reader.Read();
                switch (property)
                {
                    case "amount": amount = reader.GetDecimal(); break;
                    case "currency": currency = reader.GetString(); break;
                    default: reader.Skip(); break;
                }
            }

            return new Money(amount ?? throw new JsonException("Money needs an amount."), currency ?? throw new JsonException("Money needs a currency."));
        }

        public override void Write(Utf8JsonWriter writer, Money value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteNumber("amount", value.Amount);
            writer.WriteString("currency", value.Currency);
            writer.WriteEndObject();
        }
    }
}

/// <summary>Who caused an event: the command id that deduplicates retries and the request's correlation id.</summary>
public sealed record EventMetadata(string? CommandId, string? CorrelationId);
