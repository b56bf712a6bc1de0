namespace OrderPlatform.LoadGen.Scheduling;

/// <summary>One order of a run: its place in the sequence and when it is meant to start, as an offset from the run's start.</summary>
internal readonly record struct ScheduledOrder(long Sequence, TimeSpan IntendedStart);

/// <summary>
/// A constant arrival rate: order n is meant to start at n / rate seconds, whatever happened to the orders before
/// it. The first <see cref="Warmup"/> of the run is not measured; the measured window follows it.
/// </summary>
internal sealed class ArrivalSchedule
{
    public ArrivalSchedule(double rate, TimeSpan warmup, TimeSpan measured)
    {
        if (!double.IsFinite(rate) || rate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rate), rate, "The rate must be a positive number of orders per second.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(warmup, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(measured, TimeSpan.Zero);
        Rate = rate;
        Warmup = warmup;
        Measured = measured;

        // Every order whose intended start falls before the end of the window: n / rate < warmup + measured.
        Count = FirstAtOrAfter(warmup + measured);
        FirstMeasured = FirstAtOrAfter(warmup);
    }

    public double Rate { get; }

    public TimeSpan Warmup { get; }

    public TimeSpan Measured { get; }

    public TimeSpan WindowStart => Warmup;

    public TimeSpan WindowEnd => Warmup + Measured;

    /// <summary>How many orders the run sends, warm-up included.</summary>
    public long Count { get; }

    /// <summary>Orders whose intended start lies in the measured window.</summary>
    public long MeasuredCount => Count - FirstMeasured;

    /// <summary>The sequence number of the first order of the measured window.</summary>
    public long FirstMeasured { get; }

    public TimeSpan IntendedStart(long sequence)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        return TimeSpan.FromTicks((long)Math.Round(sequence * TimeSpan.TicksPerSecond / Rate, MidpointRounding.AwayFromZero));
    }

    public ScheduledOrder this[long sequence] => new(sequence, IntendedStart(sequence));

    public bool IsMeasured(long sequence) => sequence >= FirstMeasured && sequence < Count;

    /// <summary>The first sequence number whose intended start is at or after <paramref name="offset"/>.</summary>
    private long FirstAtOrAfter(TimeSpan offset)
    {
        // A guess from floating point, then corrected against IntendedStart itself so the two always agree.
        var n = Math.Max(0, (long)Math.Ceiling(offset.TotalSeconds * Rate) - 1);
        while (IntendedStart(n) < offset)
        {
            n++;
        }

        while (n > 0 && IntendedStart(n - 1) >= offset)
        {
            n--;
        }

        return n;
    }
}
