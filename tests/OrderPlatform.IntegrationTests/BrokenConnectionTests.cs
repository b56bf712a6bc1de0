using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// PostgreSQL closes the hot pool's connections while orders flow (a server restart, an administrator ending backends):
/// the commands on them fail, every command written to a multiplexed connection with them, and the orders they carried
/// still finish, each sold and charged once. Multiplexed (<c>Database:HotPoolMultiplexing</c>) and not (the default).
/// </summary>
public sealed class BrokenConnectionTests() : OwnDatabase("broken")
{
    private const int Orders = 60;

    [Theory]
    [InlineData("true")]
    [InlineData("false")]
    public async Task Orders_whose_connections_the_server_closes_still_finish_each_sold_and_charged_once(string multiplexing)
    {
        await using var silo = await SiloProcess.StartAsync(ConnectionString, $"cut-{Guid.NewGuid():N}"[..16], new Dictionary<string, string>
        {
            ["Database__HotPoolMultiplexing"] = multiplexing,
        });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "CUT-1";
        await api.RestockAsync(sku, 1000);

        // Orders spread over about 0.6 s (a refused POST is sent again with its key); the server ends every hot
        // connection three times meanwhile.
        var placing = Task.WhenAll(Enumerable.Range(0, Orders).Select(async i =>
        {
            await Task.Delay(i * 10);
            return await api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1));
        }));
        var ended = 0L;
        for (var round = 0; round < 3; round++)
        {
            await Task.Delay(150);
            ended += await api.ScalarAsync<long>(
                "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'orderplatform-hot') ended");
        }

        var orders = await placing;
        Assert.True(ended > 0, "no hot connection was open to end");
        Assert.Equal(Orders, orders.Distinct().Count());
        foreach (var order in orders)
        {
            Assert.Equal("Completed", (await api.WaitUntilFinishedAsync(order, TimeSpan.FromSeconds(60))).GetProperty("status").GetString());
        }

        var stock = await api.GetStockAsync(sku);
        Assert.Equal(
            (1000 - Orders, 0, Orders),
            (stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));
        Assert.Equal(
            ((long)Orders, (long)Orders),
            (await api.ScalarAsync<long>("select count(*) from psp_simulator.operations where operation = 'capture' and outcome = 'approved'"),
             await api.ScalarAsync<long>("select count(distinct payment_ref) from psp_simulator.operations where operation = 'capture' and outcome = 'approved'")));
    }
}
