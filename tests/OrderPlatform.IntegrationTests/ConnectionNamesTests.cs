using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>Every connection a silo opens names its pool in pg_stat_activity, Orleans' own included.</summary>
public sealed class ConnectionNamesTests
{
    private static readonly string[] PoolNames = ["orderplatform-hot", "orderplatform-sessions", "orderplatform-orleans"];

    [Fact]
    public async Task A_silos_connections_are_named_for_their_pool()
    {
        var connectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("names");
        await using var silo = await SiloProcess.StartAsync(connectionString, $"names-{Guid.NewGuid():N}"[..16]);
        var api = new Platform(silo.Http, connectionString);
        await api.RestockAsync("NAMES-1", 10);
        await api.WaitUntilFinishedAsync(await api.PlaceOrderAsync("tok_approve", Platform.Line("NAMES-1", 1)));

        // The query's own connection (the test's, unnamed) is left out by its pid.
        var names = await api.ScalarAsync<string[]>(
            """
            select coalesce(array_agg(coalesce(application_name, '')), '{}') from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
            """);

        Assert.Contains("orderplatform-orleans", names);
        Assert.Contains("orderplatform-hot", names);
        Assert.All(names, name => Assert.Contains(name, PoolNames));
    }
}
