namespace OrderPlatform.Grains.Checkout;

/// <summary>
/// The sagas whose run loop is going on this silo: started or resumed (after a crash, a recovery nudge, a retry's
/// wake-up) and neither finished nor asleep until a retry. One count per silo, shared by its saga activations; the API
/// admits new orders against it, and <c>GET /silo/status</c> shows it.
/// </summary>
public sealed class RunningSagas
{
    private long _running;
    private long _stopped;

    public long Count => Interlocked.Read(ref _running);

    /// <summary>Run loops that ended (finished or asleep until a retry) since the silo started: the pace room frees up.</summary>
    public long Stopped => Interlocked.Read(ref _stopped);

    internal void Started() => Interlocked.Increment(ref _running);

    internal void Stop()
    {
        Interlocked.Decrement(ref _running);
        Interlocked.Increment(ref _stopped);
    }
}
