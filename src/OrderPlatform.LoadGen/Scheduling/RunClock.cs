namespace OrderPlatform.LoadGen.Scheduling;

/// <summary>Time since the start of a run, from one <see cref="TimeProvider"/>: every offset of a run is measured with it.</summary>
internal sealed class RunClock(TimeProvider time)
{
    private readonly long _start = time.GetTimestamp();

    public TimeProvider Time => time;

    public TimeSpan Elapsed => time.GetElapsedTime(_start);
}
