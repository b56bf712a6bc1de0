namespace OrderPlatform.Relay;

/// <summary>An unpublished outbox row joined with its event (of whose metadata only the correlation id is read).</summary>
public sealed record OutboxRow(
    long Id,
    string StreamId,
    int Version,
    string AggregateType,
    Guid EventId,
    string EventType,
    int SchemaVersion,
    string Data,
    string? CorrelationId,
    DateTimeOffset RecordedAt,
    DateTimeOffset CreatedAt);

/// <summary>
/// One read of the outbox: the rows, and of the same snapshot its xmin (every transaction with a lower id had ended)
/// and the highest outbox id it sees, committed or not yet.
/// </summary>
public sealed record OutboxRead(IReadOnlyList<OutboxRow> Rows, long SnapshotXmin, long MaxVisibleId);
