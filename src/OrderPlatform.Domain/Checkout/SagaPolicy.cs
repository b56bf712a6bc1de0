namespace OrderPlatform.Domain.Checkout;

/// <summary>How long a saga may take and how it backs off between attempts of a step.</summary>
public sealed record SagaPolicy(TimeSpan Deadline, TimeSpan RetryBaseDelay, TimeSpan RetryMaxDelay)
{
    public static readonly SagaPolicy Default = new(TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));

    /// <summary>
    /// Exponential backoff with jitter: attempt 1 waits about the base delay, each further attempt doubles it,
    /// capped. <paramref name="jitter"/> in [0, 1) spreads retries of many sagas over the upper half of the window.
    /// </summary>
    public TimeSpan RetryDelay(int attempt, double jitter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        var exponent = Math.Min(attempt - 1, 20);
        var ceiling = Math.Min(RetryBaseDelay.TotalMilliseconds * Math.Pow(2, exponent), RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + (0.5 * Math.Clamp(jitter, 0, 1))));
    }
}
