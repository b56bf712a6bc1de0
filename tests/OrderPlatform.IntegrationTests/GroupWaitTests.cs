using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// A whole silo started with <c>EventStore:GroupWait</c> set: appends that come close together wait for company and
/// leave in fewer statements, and orders still run to the end. The mechanism itself is in <see cref="StatementGroupsTests"/>.
/// </summary>
public sealed class GroupWaitTests() : OwnDatabase("group_wait")
{
    [Fact]
    public async Task Restocks_arriving_20_ms_apart_share_statements_and_an_order_still_completes()
    {
        // A wait far longer than the gap between restocks, so that each group gathers several of them. Without the
        // setting, a restock every 20 ms on a silo that answers in a few milliseconds gets a statement of its own.
        await using var silo = await SiloProcess.StartAsync(ConnectionString, $"wait-{Guid.NewGuid():N}"[..16], new Dictionary<string, string>
        {
            ["EventStore__GroupWait"] = "00:00:00.250",
            ["EventStore__GroupWaitWhileFewerThan"] = "256",
        });
        var api = new Platform(silo.Http, ConnectionString);
        await api.RestockAsync("WAIT-WARM", 1);
        var before = await EventStoreCountersAsync(api);

        const int restocks = 40;
        var running = new List<Task>();
        for (var i = 0; i < restocks; i++)
        {
            running.Add(api.RestockAsync($"WAIT-{i}", 3));
            await Task.Delay(20);
        }

        await Task.WhenAll(running);
        var after = await EventStoreCountersAsync(api);
        var appends = after.GetProperty("appends").GetInt64() - before.GetProperty("appends").GetInt64();
        var statements = after.GetProperty("appendStatements").GetInt64() - before.GetProperty("appendStatements").GetInt64();
        Assert.True(appends >= restocks, $"{appends} appends for {restocks} restocks");
        Assert.True(statements * 3 <= appends, $"{appends} appends in {statements} statements: the wait did not gather them");

        // Every restock is in the database, and an order runs through every stage with the waits in between.
        foreach (var i in new[] { 0, restocks / 2, restocks - 1 })
        {
            var stock = JsonDocument.Parse(await api.Http.GetStringAsync($"/inventory/WAIT-{i}")).RootElement;
            Assert.Equal(3, stock.GetProperty("onHand").GetInt32());
        }

        var order = await api.WaitUntilFinishedAsync(await api.PlaceOrderAsync("tok_approve", Platform.Line("WAIT-0", 2)));
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal("Captured", order.GetProperty("payment").GetProperty("status").GetString());
    }

    private static async Task<JsonElement> EventStoreCountersAsync(Platform api) =>
        JsonDocument.Parse(await api.Http.GetStringAsync("/silo/status")).RootElement.GetProperty("eventStore").Clone();
}
