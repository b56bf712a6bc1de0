using System.Text.Json;
using System.Text.Json.Serialization;

namespace OrderPlatform.Contracts;

/// <summary>
/// The value of every message on the platform's topics (JSON). The message key is <see cref="StreamId"/>, so
/// one aggregate's events share a partition and arrive in <see cref="Version"/> order; a consumer applies each
/// <see cref="EventId"/> once. <see cref="Type"/> and <see cref="SchemaVersion"/> say how to read <see cref="Data"/>.
/// </summary>
public sealed record EventEnvelope(
    Guid EventId,
    string Type,
    int SchemaVersion,
    string StreamId,
    int Version,
    DateTimeOffset OccurredAt,
    string? CorrelationId,
    JsonElement Data)
{
    /// <summary>The envelope's own format; bumped only for incompatible changes of the envelope itself.</summary>
    public const int EnvelopeVersion = 1;

    public static readonly JsonSerializerOptions Json = CreateJson();

    public byte[] ToUtf8() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    [ThreadStatic]
    private static (System.Buffers.ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? _writing;

    /// <summary>
    /// The same bytes as <see cref="ToUtf8()"/> of such an envelope, written straight from <paramref name="data"/>'s JSON
    /// text (checked, not parsed into a document): for a publisher that holds the data as stored.
    /// </summary>
    public static byte[] ToUtf8(Guid eventId, string type, int schemaVersion, string streamId, int version, DateTimeOffset occurredAt, string? correlationId, string data)
    {
        var (buffer, writer) = _writing ??= CreateWriting();
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        writer.WriteStartObject();
        writer.WriteString("eventId", eventId);
        writer.WriteString("type", type);
        writer.WriteNumber("schemaVersion", schemaVersion);
        writer.WriteString("streamId", streamId);
        writer.WriteNumber("version", version);
        writer.WriteString("occurredAt", occurredAt);
        if (correlationId is null)
        {
            writer.WriteNull("correlationId");
        }
        else
        {
            writer.WriteString("correlationId", correlationId);
        }

        writer.WritePropertyName("data");
        writer.WriteRawValue(data);
        writer.WriteEndObject();
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 64 * 1024)
        {
            // One huge event does not pin its buffer to the thread.
            _writing = null;
        }

        return bytes;
    }

    private static (System.Buffers.ArrayBufferWriter<byte>, Utf8JsonWriter) CreateWriting()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        return (buffer, new Utf8JsonWriter(buffer));
    }

    /// <summary>Reads an envelope; throws <see cref="JsonException"/> for anything that is not a complete envelope.</summary>
    public static EventEnvelope Parse(ReadOnlySpan<byte> utf8)
    {
        var envelope = JsonSerializer.Deserialize<EventEnvelope>(utf8, Json) ?? throw new JsonException("The message is JSON null, not an event envelope.");
        if (envelope.EventId == Guid.Empty || string.IsNullOrEmpty(envelope.Type) || string.IsNullOrEmpty(envelope.StreamId)
            || envelope.Version < 1 || envelope.SchemaVersion < 1 || envelope.Data.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("The message is not a complete event envelope (eventId, type, schemaVersion, streamId, version, data).");
        }

        return envelope;
    }

    private static JsonSerializerOptions CreateJson()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver(),
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>Kafka header names on every published message (values are UTF-8 strings).</summary>
public static class EnvelopeHeaders
{
    public const string EventId = "event-id";
    public const string EventType = "event-type";
    public const string SchemaVersion = "schema-version";
    public const string CorrelationId = "correlation-id";

    /// <summary>W3C trace context, so a consumer's work joins the trace of the request that caused the event.</summary>
    public const string TraceParent = "traceparent";

    // Dead-letter messages carry these besides the original headers.
    public const string DeadLetterReason = "dead-letter-reason";
    public const string DeadLetterTopic = "dead-letter-original-topic";
    public const string DeadLetterPartition = "dead-letter-original-partition";
    public const string DeadLetterOffset = "dead-letter-original-offset";
    public const string DeadLetterAttempts = "dead-letter-attempts";
}
