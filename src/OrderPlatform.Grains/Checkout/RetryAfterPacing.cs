namespace OrderPlatform.Grains.Checkout;

/// <summary>
/// The Retry-After a full silo gives the orders it refuses, steered once a second so that the refused clients come back
/// about as fast as the silo makes room. A refused client that honours Retry-After is one of N waiting clients that each
/// come back every Retry-After seconds, so the silo sees about N / Retry-After refusals a second; where that is more
/// than the sagas that stop running on it a second, the clients come back sooner than there is room for them, and
/// every refusal costs a request on both sides for nothing. So at the end of each second with refusals in it the
/// Retry-After is multiplied by refusals over stopped sagas in that second, no less than a half and no more than
/// two, and held between the configured least and most. Each second without a refusal halves it, so once the silo
/// has room the next refusal says the least again.
/// <para>
/// Where the new orders alone come faster than the silo finishes them, no Retry-After helps: the clients wait out the
/// most and give up on their own deadlines. What the pacing saves is the silo's time spent refusing them.
/// </para>
/// </summary>
public sealed class RetryAfterPacing
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly double _least;
    private readonly double _most;
    private long _periodStarted;
    private long _refusedBefore;
    private long _stoppedBefore;
    private double _seconds;

    public RetryAfterPacing(int leastSeconds, int mostSeconds, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(leastSeconds, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(mostSeconds, leastSeconds);
        _least = leastSeconds;
        _most = mostSeconds;
        _time = time;
        _seconds = leastSeconds;
        _periodStarted = time.GetTimestamp();
    }

    /// <summary>The Retry-After, in whole seconds, that the latest refusal gave (the least before any).</summary>
    public int Latest
    {
        get
        {
            lock (_gate)
            {
                return (int)Math.Ceiling(_seconds);
            }
        }
    }

    /// <summary>
    /// The Retry-After for a refusal, given the silo's refusals (this one included) and stopped sagas since it started;
    /// it opens the next period.
    /// </summary>
    public int Refused(long refused, long stopped)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var periods = Math.Floor(_time.GetElapsedTime(_periodStarted, now) / Period);
            if (periods >= 1)
            {
                // The period's refusals all came in its first second (a refusal after that ends it, and this one opens
                // the next), its sagas stopped all through it. Each further whole second had no refusal: halve for it.
                var refusedIn = refused - 1 - _refusedBefore;
                var stoppedASecond = Math.Max((stopped - _stoppedBefore) / periods, 1);
                var factor = Math.Clamp(refusedIn / stoppedASecond, 0.5, 2.0) * Math.Pow(0.5, periods - 1);
                _seconds = Math.Clamp(_seconds * factor, _least, _most);
                _periodStarted = now;
                _refusedBefore = refused - 1;
                _stoppedBefore = stopped;
            }

            return (int)Math.Ceiling(_seconds);
        }
    }
}
