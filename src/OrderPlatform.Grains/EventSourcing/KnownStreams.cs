namespace OrderPlatform.Grains.EventSourcing;

/// <summary>
/// The first events of a stream, as the caller committed them (a saga's start that placed its order, and the appends
/// that confirmed and completed it): their content is a fact for good, since stored events never change.
/// </summary>
[GenerateSerializer, Immutable, Alias("OrderPlatform.KnownStart")]
public sealed record KnownStart(
    [property: Id(0)] string StreamId,
    [property: Id(1)] IReadOnlyList<CarriedEvent> Events);

/// <summary>
/// How a caller that wrote a stream's first events tells the stream's grain what they are: an activation that has not
/// read its stream starts from them instead of reading it, and one that read fewer takes in the rest (see <see
/// cref="EventSourcedGrain{TState, TEvent}"/>). Whether
/// the stream holds more than them is not known: if it does, the grain's next append is refused, and it reads what
/// follows them and decides again, as after any conflict.
/// </summary>
public static class KnownStreams
{
    /// <summary>The request context entry that holds the stream's known events.</summary>
    public const string ContextKey = "known-stream";

    /// <summary>Makes <paramref name="call"/> with <paramref name="known"/> told; the caller's own context is left as it was.</summary>
    public static Task<T> Telling<T>(KnownStart known, Func<Task<T>> call) => NewStreams.With(ContextKey, known, call);

    /// <summary>
    /// The known events of <paramref name="streamId"/> told to the call being served, if any. They are taken off the
    /// context, so the calls the grain makes in turn do not pass them on.
    /// </summary>
    public static KnownStart? Take(string streamId) => NewStreams.Take<KnownStart>(ContextKey, streamId, static known => known.StreamId);
}
