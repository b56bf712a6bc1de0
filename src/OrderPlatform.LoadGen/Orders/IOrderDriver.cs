using OrderPlatform.LoadGen.Scheduling;

namespace OrderPlatform.LoadGen.Orders;

/// <summary>Takes one order from its POST to its terminal state (or to an error); the run only schedules and records.</summary>
internal interface IOrderDriver
{
    /// <summary>Never throws for what the platform answers; every failure is an <see cref="OrderResult"/> with an error.</summary>
    Task<OrderResult> RunAsync(ScheduledOrder order, RunClock clock, CancellationToken cancellationToken);
}
