using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace OrderPlatform.LoadGen.Tests.Infrastructure;

/// <summary>
/// A fake clock that says when someone starts waiting on it: a test moves time forward only once the code under
/// test is parked on a timer, so no step of time can slip in between the code reading the clock and waiting.
/// </summary>
internal sealed class SteppedTime : TimeProvider
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly FakeTimeProvider _fake = new();
    private readonly Channel<TimeSpan> _timers = Channel.CreateUnbounded<TimeSpan>();

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _fake.CreateTimer(callback, state, dueTime, period);
        _timers.Writer.TryWrite(dueTime);
        return timer;
    }

    public void Advance(TimeSpan by) => _fake.Advance(by);

    /// <summary>Waits until a timer is created and returns its due time; fails the test when none is within 10 s.</summary>
    public async Task<TimeSpan> NextTimerAsync(string what)
    {
        using var timeout = new CancellationTokenSource(Patience);
        try
        {
            return await _timers.Reader.ReadAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"Nobody started waiting on the clock within {Patience.TotalSeconds} s: {what}");
            throw;
        }
    }

    /// <summary>Moves time to each timer's due time in turn until <paramref name="run"/> completes.</summary>
    public async Task DriveAsync(Task run)
    {
        ArgumentNullException.ThrowIfNull(run);
        while (!run.IsCompleted)
        {
            using var timeout = new CancellationTokenSource(Patience);
            var timer = _timers.Reader.WaitToReadAsync(timeout.Token).AsTask();
            if (await Task.WhenAny(run, timer) == run)
            {
                break;
            }

            Assert.True(timer.IsCompletedSuccessfully, $"The run neither finished nor waited on the clock within {Patience.TotalSeconds} s.");
            if (_timers.Reader.TryRead(out var due))
            {
                _fake.Advance(due);
            }
        }

        await run;
    }
}
