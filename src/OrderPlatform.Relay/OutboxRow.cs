namespace OrderPlatform.Relay;

/// <summary>An unpublished outbox row joined with its event.</summary>
public sealed record OutboxRow(
    long Id,
    string StreamId,
    int Version,
    string AggregateType,
    Guid EventId,
    string EventType,
    int SchemaVersion,
    string Data,
    string Metadata,
    DateTimeOffset RecordedAt,
    DateTimeOffset CreatedAt);
