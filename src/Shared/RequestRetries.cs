namespace OrderPlatform.Commands;

/// <summary>
/// When a careful client sends a failed or refused request again (the same Idempotency-Key): after its backoff, 50 ms
/// doubling to 1 s, or after the answer's Retry-After when that is longer, spread by up to half of it again so that
/// clients refused together do not come back together. Compiled into each command that sends orders (a linked source
/// file), so the load generator and the chaos runner retry alike.
/// </summary>
internal static class RequestRetries
{
    /// <summary>The pause before the <paramref name="retries"/>th retry; <paramref name="jitter"/> from 0 to 1.</summary>
    public static TimeSpan Delay(int retries, TimeSpan? retryAfter, double jitter)
    {
        var backoff = TimeSpan.FromMilliseconds(Math.Min(1000, 50 * Math.Pow(2, Math.Clamp(retries - 1, 0, 5))));
        return retryAfter is { } after && after > backoff ? after + (after / 2 * Math.Clamp(jitter, 0, 1)) : backoff;
    }

    /// <summary>The answer's Retry-After as a wait (given in seconds, or as a date), if it has one.</summary>
    public static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter is { } after
            ? after.Delta ?? (after.Date is { } date ? date - DateTimeOffset.UtcNow : null)
            : null;
}
