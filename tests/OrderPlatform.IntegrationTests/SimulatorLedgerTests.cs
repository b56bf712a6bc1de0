using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <c>PaymentGateway:SimulatorLedger=memory</c>: a silo whose simulated provider keeps its ledger in memory runs orders to
/// the end, each captured once, writes nothing of the provider's to the database, and says where its ledger is, in its status and with a warning in its log.
/// </summary>
public sealed class SimulatorLedgerTests() : OwnDatabase("ledger")
{
    [Fact]
    public async Task A_silo_with_the_ledger_in_memory_completes_orders_without_writing_the_providers_rows()
    {
        await using var silo = await SiloProcess.StartAsync(ConnectionString, $"ledger-{Guid.NewGuid():N}"[..16], new Dictionary<string, string>
        {
            ["PaymentGateway__SimulatorLedger"] = "memory",
        });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "LEDGER-1";
        await api.RestockAsync(sku, 10);

        var completed = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1))));
        var declined = await api.PlaceOrderAsync("tok_decline", Platform.Line(sku, 1));

        foreach (var order in completed)
        {
            var finished = await api.WaitUntilFinishedAsync(order);
            Assert.Equal("Completed", finished.GetProperty("status").GetString());
            Assert.Equal("Captured", finished.GetProperty("payment").GetProperty("status").GetString());
        }

        Assert.Equal("Cancelled", (await api.WaitUntilFinishedAsync(declined)).GetProperty("status").GetString());
        var stock = await api.GetStockAsync(sku);
        Assert.Equal((6, 0, 4), (stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));
        Assert.Equal(0L, await api.ScalarAsync<long>("select count(*) from psp_simulator.operations"));

        var status = JsonDocument.Parse(await silo.Http.GetStringAsync("/silo/status")).RootElement;
        Assert.Equal("memory", status.GetProperty("providerLedger").GetString());
        Assert.Equal(JsonValueKind.Null, status.GetProperty("providerAnswerTimings").ValueKind);
        Assert.Equal(JsonValueKind.Null, status.GetProperty("providerCaptureLookTimings").ValueKind);
        Assert.Contains("The payment simulator keeps its ledger in this silo's memory", await File.ReadAllTextAsync(silo.LogPath), StringComparison.Ordinal);
    }
}
