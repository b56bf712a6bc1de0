namespace OrderPlatform.Grains.EventSourcing;

/// <summary>
/// How a caller that creates an aggregate tells the aggregate's grain so: the grain's activation then skips reading
/// a stream that has no events yet and appends at version 0 (see <see cref="EventSourcedGrain{TState, TEvent}"/>).
/// Only a word of advice: if the stream had events after all, the append is refused and the grain reads its stream.
/// </summary>
public static class NewStreams
{
    /// <summary>The request context entry that names the stream the call creates.</summary>
    public const string ContextKey = "new-stream";

    /// <summary>
    /// Makes <paramref name="call"/> with the entry naming <paramref name="streamId"/>. The request context is copied
    /// into a grain call when it is sent, so the entry goes with this call and those it makes, and the caller's own
    /// context is left as it was.
    /// </summary>
    public static Task<T> Creating<T>(string streamId, Func<Task<T>> call) => With(ContextKey, streamId, call);

    /// <summary>
    /// Makes <paramref name="call"/> with the request context entry <paramref name="key"/> set to <paramref name="value"/>,
    /// then removes it: the entry goes with the grain call (copied into it when it is sent), not with the caller's later ones.
    /// </summary>
    internal static Task<T> With<T>(string key, object value, Func<Task<T>> call)
    {
        RequestContext.Set(key, value);
        try
        {
            return call();
        }
        finally
        {
            RequestContext.Remove(key);
        }
    }

    /// <summary>
    /// The request context entry <paramref name="key"/> if it is a <typeparamref name="T"/> addressed to the grain of
    /// <paramref name="streamId"/> (<paramref name="addressedTo"/> names its stream). It is taken off the context, so the
    /// calls that grain makes in turn do not pass it on.
    /// </summary>
    internal static T? Take<T>(string key, string streamId, Func<T, string> addressedTo)
        where T : class
    {
        if (RequestContext.Get(key) is not T value || addressedTo(value) != streamId)
        {
            return null;
        }

        RequestContext.Remove(key);
        return value;
    }

    /// <summary>Whether the call being served said it creates <paramref name="streamId"/>.</summary>
    public static bool IsCreating(string streamId) => RequestContext.Get(ContextKey) as string == streamId;
}
