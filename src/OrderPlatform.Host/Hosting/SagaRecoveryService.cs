using Microsoft.Extensions.Options;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.Grains;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.Host.Hosting;

/// <summary>
/// Resumes sagas that nobody is running: those whose silo died mid-step, or whose wake-up timer was lost with
/// their activation. Every silo scans; a nudge to a saga that is running anyway changes nothing. Orleans
/// reminders fire at most once a minute, so this scan, not a reminder, bounds the recovery time after a crash.
/// </summary>
public sealed class SagaRecoveryService(
    SagaIndex sagas,
    IGrainFactory grains,
    TimeProvider time,
    IOptions<SagaOptions> options,
    ILogger<SagaRecoveryService> logger) : BackgroundService
{
    private const int BatchSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.RecoveryInterval, time);
        do
        {
            try
            {
                var now = time.GetUtcNow();
                var stalled = await sagas.StalledAsync(now - options.Value.StalledAfter, now, BatchSize, stoppingToken);
                foreach (var orderId in stalled)
                {
                    await grains.GetGrain<IOrderSagaGrain>(orderId).ResumeAsync();
                }

                if (stalled.Count > 0)
                {
                    logger.LogInformation("Resumed {Count} stalled saga(s).", stalled.Count);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Saga recovery scan failed; trying again next interval.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
