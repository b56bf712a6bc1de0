using System.Threading.Channels;
using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Scheduling;

namespace OrderPlatform.LoadGen.Tests.Infrastructure;

/// <summary>An order driver whose answers the test decides; tells which orders it was handed.</summary>
internal sealed class FakeDriver(Func<ScheduledOrder, RunClock, Task<OrderResult>> answer) : IOrderDriver
{
    private readonly Channel<long> _started = Channel.CreateUnbounded<long>();

    public Task<OrderResult> RunAsync(ScheduledOrder order, RunClock clock, CancellationToken cancellationToken)
    {
        _started.Writer.TryWrite(order.Sequence);
        return answer(order, clock);
    }

    /// <summary>Waits until <paramref name="count"/> orders were handed over; fails the test when they are not within 10 s.</summary>
    public async Task StartedAsync(long count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        for (var i = 0L; i < count; i++)
        {
            try
            {
                await _started.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"Only {i} of {count} orders reached the driver within 10 s.");
            }
        }
    }

    /// <summary>Accepted 1 ms after its intended start, finished <paramref name="latency"/> after it.</summary>
    public static OrderResult FinishedAfter(ScheduledOrder order, TimeSpan latency, string outcome = "Completed") =>
        OrderResult.Finished(outcome, order.IntendedStart + TimeSpan.FromMilliseconds(1), order.IntendedStart + latency, retries: 0);
}
