using OrderPlatform.EventStore.Events;

namespace OrderPlatform.Grains.EventSourcing;

/// <summary>
/// A caller's own record of a command's success, which the callee commits in the same transaction as the events
/// the command causes: a saga's step outcome (and the start of its next step) riding on the participant's append,
/// instead of a transaction of its own after the reply. The callee carries it only when the command succeeds with
/// an append before <see cref="ValidUntil"/>; the record's stream keeps its own version check, so a caller whose
/// stream moved on meanwhile (a cancellation landed) gets its record refused and the command's events land alone.
/// <see cref="Also"/> is a further stream's events that the caller decided on the same success (an order's confirmation
/// or completion, decided by its saga on the payment's authorization or the stock's commit); they commit with the record
/// or not at all, under their own version check.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.CarriedRecord")]
public sealed record CarriedRecord(
    [property: Id(0)] string CarrierStreamId,
    [property: Id(1)] string StreamId,
    [property: Id(2)] int ExpectedVersion,
    [property: Id(3)] IReadOnlyList<CarriedEvent> Events,
    [property: Id(4)] SagaIndexRow? SagaIndex,
    [property: Id(5)] DateTimeOffset ValidUntil,
    [property: Id(6)] CarriedStreamEvents? Also = null);

/// <summary>Events for another aggregate's stream, at the version the caller knows it at, published as <see cref="AggregateType"/>.</summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.CarriedStreamEvents")]
public sealed record CarriedStreamEvents(
    [property: Id(0)] string StreamId,
    [property: Id(1)] int ExpectedVersion,
    [property: Id(2)] IReadOnlyList<CarriedEvent> Events,
    [property: Id(3)] string AggregateType);

/// <summary>One event of a carried record, serialized by the caller that owns its stream.</summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.CarriedEvent")]
public sealed record CarriedEvent(
    [property: Id(0)] Guid EventId,
    [property: Id(1)] string EventType,
    [property: Id(2)] int SchemaVersion,
    [property: Id(3)] string Data,
    [property: Id(4)] string Metadata)
{
    /// <summary>Events as the store takes them, to carry to another grain.</summary>
    public static List<CarriedEvent> From(IEnumerable<EventToAppend> events) =>
        [.. events.Select(e => new CarriedEvent(e.EventId, e.EventType, e.SchemaVersion, e.Data, e.Metadata))];

    /// <summary>Carried events as the store takes them.</summary>
    public static List<EventToAppend> ToAppend(IEnumerable<CarriedEvent> events) =>
        [.. events.Select(e => new EventToAppend(e.EventId, e.EventType, e.SchemaVersion, e.Data, e.Metadata))];
}

/// <summary>The saga index row a carried saga record writes with its events (see <c>SagaIndex.Upsert</c>).</summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.SagaIndexRow")]
public sealed record SagaIndexRow(
    [property: Id(0)] Guid OrderId,
    [property: Id(1)] bool Finished,
    [property: Id(2)] string? Outcome,
    [property: Id(3)] DateTimeOffset? WakeAt,
    [property: Id(4)] DateTimeOffset UpdatedAt);

/// <summary>How a caller offers its record to the grain it calls, through the request context.</summary>
public static class CarriedRecords
{
    /// <summary>The request context entry that holds the record on offer.</summary>
    public const string ContextKey = "carried-record";

    /// <summary>Makes <paramref name="call"/> with <paramref name="record"/> on offer; the caller's own context is left as it was.</summary>
    public static Task<T> Offering<T>(CarriedRecord record, Func<Task<T>> call) => NewStreams.With(ContextKey, record, call);

    /// <summary>
    /// The record offered to the call being served if it is addressed to <paramref name="streamId"/>'s grain. It is
    /// taken off the context, so the calls that grain makes in turn do not offer it again.
    /// </summary>
    public static CarriedRecord? Take(string streamId) => NewStreams.Take<CarriedRecord>(ContextKey, streamId, static record => record.CarrierStreamId);
}
