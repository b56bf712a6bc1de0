using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using OrderPlatform.Domain;
using OrderPlatform.EventStore.Events;

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
    private (string Name, int SchemaVersion, Func<TEvent, bool> Member)? _pack;

    public EventTypeRegistry<TEvent> Register<T>(string name, int schemaVersion)
        where T : TEvent
    {
        if (_pack is { } pack && string.Equals(pack.Name, name, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"'{name}' names this registry's packed rows.");
        }

        _byType.Add(typeof(T), (name, schemaVersion));
        _byName.Add(name, typeof(T));
        return this;
    }

    /// <summary>
    /// Stores every run of two or more consecutive events that <paramref name="member"/> picks as one row named
    /// <paramref name="name"/>: a JSON object whose <c>events</c> array holds each event's name, schema version and data,
    /// in order. For bookkeeping events that only their own stream reads (a saga's step log): fewer rows to write and
    /// index, the same events when read back. Events stored one to a row are still read as before.
    /// </summary>
    public EventTypeRegistry<TEvent> Packs(string name, int schemaVersion, Func<TEvent, bool> member)
    {
        if (_byName.ContainsKey(name) || _pack is not null)
        {
            throw new InvalidOperationException($"'{name}' is registered already, or this registry packs under another name.");
        }

        _pack = (name, schemaVersion, member);
        return this;
    }

    public IReadOnlyCollection<string> Names => _byName.Keys;

    /// <summary>
    /// <paramref name="events"/> as the store takes them: named, serialized (packed unless <paramref name="pack"/> is
    /// false), each row with a new id and the metadata of the command that caused them.
    /// </summary>
    public List<EventToAppend> ToAppend(IReadOnlyList<TEvent> events, string? commandId, string? correlationId, DateTimeOffset now, bool pack = true)
    {
        var metadata = JsonSerializer.Serialize(new EventMetadata(commandId, correlationId), EventJson.Options);
        var rows = ForStorage(events, pack);
        var toAppend = new List<EventToAppend>(rows.Count);
        foreach (var (name, schemaVersion, data) in rows)
        {
            toAppend.Add(new EventToAppend(EventIds.New(now), name, schemaVersion, data, metadata));
        }

        return toAppend;
    }

    /// <summary>
    /// The rows that store <paramref name="events"/>, in order: one per event, or one per run of packed events (unless
    /// <paramref name="pack"/> is false: for a cluster whose older silos cannot read packed rows yet).
    /// </summary>
    public IReadOnlyList<(string Name, int SchemaVersion, string Data)> ForStorage(IReadOnlyList<TEvent> events, bool pack = true)
    {
        var rows = new List<(string, int, string)>(events.Count);
        for (var i = 0; i < events.Count;)
        {
            var end = i;
            while (pack && _pack is { } packing && end < events.Count && packing.Member(events[end]))
            {
                end++;
            }

            if (end - i >= 2)
            {
                rows.Add((_pack!.Value.Name, _pack.Value.SchemaVersion, Pack(events, i, end)));
                i = end;
                continue;
            }

            var (name, schemaVersion) = Describe(events[i]);
            rows.Add((name, schemaVersion, Serialize(events[i])));
            i++;
        }

        return rows;
    }

    /// <summary>The events one stored row holds: the row's own, or those of a pack.</summary>
    public IReadOnlyList<TEvent> FromStorage(string name, int schemaVersion, string json)
    {
        if (_pack is not { } pack || !string.Equals(name, pack.Name, StringComparison.Ordinal))
        {
            return [Deserialize(name, schemaVersion, json)];
        }

        if (schemaVersion > pack.SchemaVersion)
        {
            throw new InvalidOperationException($"Stored event '{name}' has schema version {schemaVersion}; this build reads up to {pack.SchemaVersion}.");
        }

        using var document = JsonDocument.Parse(json);
        if (document.RootElement.ValueKind != JsonValueKind.Object
            || !document.RootElement.TryGetProperty("events", out var entries) || entries.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidOperationException($"Stored event '{name}' has no 'events' array.");
        }

        var events = new List<TEvent>(entries.GetArrayLength());
        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object
                || !entry.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String
                || !entry.TryGetProperty("schemaVersion", out var version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var entryVersion)
                || !entry.TryGetProperty("data", out var data))
            {
                throw new InvalidOperationException($"Stored event '{name}' has an entry without a type, a schema version or data.");
            }

            events.Add(Deserialize(type.GetString()!, entryVersion, data.GetRawText()));
        }

        return events.Count > 0 ? events : throw new InvalidOperationException($"Stored event '{name}' holds no events.");
    }

    // Packing runs without awaiting, so each thread's buffer and writer serve one pack at a time, again and again
    // (a pack is a few hundred bytes; a buffer that grew past MaxKeptPackBuffer is left to the collector).
    [ThreadStatic]
    private static PackWriter? _packWriter;

    private const int MaxKeptPackBuffer = 64 * 1024;

    private sealed class PackWriter
    {
        public System.Buffers.ArrayBufferWriter<byte> Buffer { get; } = new(1024);

        public Utf8JsonWriter Writer { get; }

        public PackWriter() => Writer = new Utf8JsonWriter(Buffer);
    }

    private string Pack(IReadOnlyList<TEvent> events, int from, int to)
    {
        var pack = _packWriter ??= new PackWriter();
        var (buffer, writer) = (pack.Buffer, pack.Writer);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteStartArray("events");
        for (var i = from; i < to; i++)
        {
            var (name, schemaVersion) = Describe(events[i]);
            writer.WriteStartObject();
            writer.WriteString("type", name);
            writer.WriteNumber("schemaVersion", schemaVersion);
            writer.WritePropertyName("data");
            JsonSerializer.Serialize(writer, events[i], events[i].GetType(), EventJson.Options);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        writer.Flush();
        var json = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        if (buffer.Capacity > MaxKeptPackBuffer)
        {
            _packWriter = null;
        }

        return json;
    }

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
