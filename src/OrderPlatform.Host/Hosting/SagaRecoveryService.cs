using Microsoft.Extensions.Options;
using OrderPlatform.EventStore.Sagas;
using OrderPlatform.Grains;
using OrderPlatform.Grains.Checkout;

namespace OrderPlatform.Host.Hosting;

/// <summary>
/// Resumes sagas that nobody is running: those whose silo died mid-step, or whose wake-up timer was lost with
/// their activation. Every silo scans; a nudge to a saga that is running anyway changes nothing. Orleans
/// reminders fire at most once a minute, so this scan, not a reminder, bounds the recovery time after a crash.
/// When the cluster declares a silo dead the scan runs at once, with a short quiet window, for a while.
/// </summary>
public sealed class SagaRecoveryService(
    SagaIndex sagas,
    IGrainFactory grains,
    IClusterMembershipService membership,
    TimeProvider time,
    IOptions<SagaOptions> options,
    ILogger<SagaRecoveryService> logger) : BackgroundService
{
    private const int BatchSize = 500;

    // After a silo death, sagas quiet for this long are nudged (instead of StalledAfter), for UrgentFor.
    private static readonly TimeSpan UrgentQuiet = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan UrgentFor = TimeSpan.FromSeconds(15);

    private readonly SemaphoreSlim _siloDied = new(0, 1);
    private DateTimeOffset _urgentUntil = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = WatchMembershipAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            await ScanAsync(stoppingToken);
            try
            {
                await _siloDied.WaitAsync(options.Value.RecoveryInterval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ScanAsync(CancellationToken stoppingToken)
    {
        try
        {
            var now = time.GetUtcNow();
            var quiet = now < _urgentUntil ? UrgentQuiet : options.Value.StalledAfter;
            var stalled = await sagas.StalledAsync(now - quiet, now, BatchSize, stoppingToken);
            foreach (var orderId in stalled)
            {
                await grains.Get<IOrderSagaGrain>(orderId).ResumeAsync();
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

    private async Task WatchMembershipAsync(CancellationToken stoppingToken)
    {
        try
        {
            var dead = new HashSet<SiloAddress>();
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                var newlyDead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && dead.Add(m.SiloAddress)).ToList();
                if (newlyDead.Count == 0)
                {
                    continue;
                }

                logger.LogInformation("Silo(s) {Silos} declared dead: resuming their sagas now.", string.Join(", ", newlyDead.Select(m => m.SiloAddress)));
                _urgentUntil = time.GetUtcNow() + UrgentFor;
                if (_siloDied.CurrentCount == 0)
                {
                    _siloDied.Release();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Watching cluster membership stopped; the periodic scan still runs.");
        }
    }

    public override void Dispose()
    {
        _siloDied.Dispose();
        base.Dispose();
    }
}
