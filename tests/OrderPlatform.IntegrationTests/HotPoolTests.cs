using System.Diagnostics;
using Npgsql;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The hot pool keeps the connections it opened (<c>Database:HotPoolKeep</c>, by default the whole pool): Npgsql closes
/// idle connections above that every <c>Connection Idle Lifetime</c>, and new ones cost the next busy moment. The same
/// with commands sharing connections (<c>Database:HotPoolMultiplexing</c>, off by default) and without.
/// </summary>
public sealed class HotPoolTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("0", null)]
    [InlineData(null, "true")]
    [InlineData("0", "true")]
    public async Task The_hot_pool_keeps_its_connections_through_idle_time_unless_told_to_keep_none(string? keep, string? multiplexing)
    {
        // Npgsql's idle lifetime (300 s by default) and pruning interval, shortened so pruning runs within the test.
        var connectionString = new NpgsqlConnectionStringBuilder(await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("hotpool"))
        {
            ConnectionIdleLifetime = 2,
            ConnectionPruningInterval = 1,
        }.ConnectionString;
        var settings = new Dictionary<string, string>();
        if (keep is not null)
        {
            settings["Database__HotPoolKeep"] = keep;
        }

        if (multiplexing is not null)
        {
            settings["Database__HotPoolMultiplexing"] = multiplexing;
        }

        await using var silo = await SiloProcess.StartAsync(connectionString, $"pool-{Guid.NewGuid():N}"[..16], settings);
        var api = new Platform(silo.Http, connectionString);
        await api.RestockAsync("POOL-1", 1000);

        // Orders at once: concurrent appends, reads and payment answers open several of the pool's connections.
        var orders = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => api.PlaceOrderAsync("tok_approve", Platform.Line("POOL-1", 1))));
        await Task.WhenAll(orders.Select(o => api.WaitUntilFinishedAsync(o)));
        var opened = await HotConnectionsAsync(api);
        Assert.True(opened >= 3, $"the burst opened {opened} hot connections");

        // Idle well past the lifetime: several pruning rounds.
        var idle = Stopwatch.StartNew();
        long now;
        do
        {
            await Task.Delay(500);
            now = await HotConnectionsAsync(api);
        }
        while (idle.Elapsed < TimeSpan.FromSeconds(8) && (keep is null || now >= opened));

        if (keep is null)
        {
            Assert.True(now >= opened, $"{now} hot connections after idling, {opened} before");
        }
        else
        {
            Assert.True(now < opened, $"{now} hot connections after idling, {opened} before: none closed");
        }
    }

    private static Task<long> HotConnectionsAsync(Platform api) =>
        api.ScalarAsync<long>("select count(*) from pg_stat_activity where datname = current_database() and application_name = 'orderplatform-hot'");
}
