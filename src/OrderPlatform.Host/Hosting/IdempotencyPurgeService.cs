using Microsoft.Extensions.Options;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.Host.Api;

namespace OrderPlatform.Host.Hosting;

/// <summary>Deletes idempotency records past their retention (24 hours by default).</summary>
public sealed class IdempotencyPurgeService(
    IdempotencyStore store,
    TimeProvider time,
    IOptions<IdempotencyOptions> options,
    ILogger<IdempotencyPurgeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval, time);
        do
        {
            try
            {
                var purged = await store.PurgeExpiredAsync(stoppingToken);
                if (purged > 0)
                {
                    logger.LogInformation("Purged {Count} expired idempotency record(s).", purged);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Idempotency purge failed; trying again next interval.");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
