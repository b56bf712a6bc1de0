namespace OrderPlatform.EventStore.Events;

/// <summary>An event about to be appended; data and metadata are JSON documents.</summary>
public sealed record EventToAppend(Guid EventId, string EventType, int SchemaVersion, string Data, string Metadata);

/// <summary>
/// Events of a second stream that commit in the same transaction as an append, or not at all: another writer's own
/// record of what the append does (a saga's step outcome riding on the participant's append), or the first events of
/// an aggregate the append's writer creates (an order placed by its saga's start). Its stream keeps its own version
/// check. Its events get outbox rows when <see cref="PublishedAs"/> names their aggregate type; bookkeeping (a saga's
/// step log) leaves it null.
/// </summary>
public sealed record CarriedAppend(string StreamId, int ExpectedVersion, IReadOnlyList<EventToAppend> Events, string? PublishedAs = null);

public sealed record StoredEvent(
    string StreamId,
    int Version,
    Guid EventId,
    string EventType,
    int SchemaVersion,
    string Data,
    string Metadata,
    DateTimeOffset RecordedAt,
    long GlobalPosition);

/// <summary>Another writer appended to the stream first: reload the stream and decide again.</summary>
public sealed class ConcurrencyConflictException(string streamId, int expectedVersion)
    : Exception($"Stream '{streamId}' moved past version {expectedVersion}; reload it and decide again.")
{
    public string StreamId { get; } = streamId;

    public int ExpectedVersion { get; } = expectedVersion;
}

/// <summary>
/// A row written in the same transaction as an append (a saga index row, a stored response). The rows of one kind
/// from every append of a group are written by one statement, so a group costs a statement per kind of row, not
/// one per row.
/// </summary>
public interface IRowAlongside
{
    /// <summary>
    /// The command that writes <paramref name="rows"/>: this row and the others of its type in the group, in the order
    /// their appends were made.
    /// </summary>
    Npgsql.NpgsqlBatchCommand WriteAll(IReadOnlyList<IRowAlongside> rows);
}
