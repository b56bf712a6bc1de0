using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <c>Grains:RestingLinger</c> (decision record 0025) says how long a finished order's grains stay in memory. The
/// default (1 s) lets them go soon after the end (<see cref="SagaScenarioTests"/>); a silo told to keep them longer does.
/// </summary>
public sealed class RestingLingerTests() : OwnDatabase("resting_linger")
{
    [Fact]
    public async Task A_silo_told_to_keep_finished_orders_longer_keeps_them_in_memory_past_the_default()
    {
        var clusterId = $"linger-{Guid.NewGuid():N}"[..16];
        await using var silo = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string> { ["Grains__RestingLinger"] = "00:10:00" });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "LINGER-1";
        await api.RestockAsync(sku, 10);
        var orders = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            orders.Add(await api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1)));
        }

        // Read once each, when finished: the sagas answer for their orders, whose grains are never called.
        foreach (var orderId in orders)
        {
            Assert.Equal("Completed", (await api.FinishedReadAsync(orderId)).GetProperty("status").GetString());
        }

        // A declined card: the saga cancels the order through its grain, and the read asks that grain.
        var declined = await api.PlaceOrderAsync("tok_decline", Platform.Line(sku, 1));
        var cancelled = await api.FinishedReadAsync(declined);
        Assert.Equal("Cancelled", cancelled.GetProperty("status").GetString());
        Assert.StartsWith("Payment declined", cancelled.GetProperty("reason").GetString(), StringComparison.Ordinal);

        // Four times the default linger later, every finished saga and payment is still active, and the one order's grain
        // that was called.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var activations = await api.ActivationsAsync();
        Assert.True(activations.GetValueOrDefault("OrderSagaGrain") >= 4, $"activations: {string.Join(", ", activations)}");
        Assert.True(activations.GetValueOrDefault("PaymentGrain") >= 4, $"activations: {string.Join(", ", activations)}");
        Assert.Equal(1, activations.GetValueOrDefault("OrderGrain"));
    }
}
