using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// With <c>Saga:PlaceOrderWithStart</c> off (decision record 0024), the saga's start leaves the order out: the first
/// stage sends the order's grain its command beside the reservation, and the order's first event commits on its own.
/// With <c>Saga:CarryOrderEvents</c> off (decision records 0031, 0032), the order's grain confirms and completes the order
/// as steps of their own.
/// </summary>
public sealed class OrderPlacementTests() : OwnDatabase("order_placement")
{
    [Fact]
    public async Task With_placing_at_the_start_off_the_orders_grain_places_the_order_as_a_step()
    {
        var clusterId = $"place-{Guid.NewGuid():N}"[..16];
        await using var silo = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string> { ["Saga__PlaceOrderWithStart"] = "false" });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "PLACE-1";
        await api.RestockAsync(sku, 5);

        var orderId = await api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 2));
        var order = await api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        // The order's first event did not commit with the saga's start, and the saga recorded the first stage's outcome
        // in a transaction of its own: one transaction wrote saga events besides the start.
        var saga = $"saga-{orderId:N}";
        Assert.NotEqual(
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", saga),
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", $"order-{orderId:N}"));
        Assert.Equal(2L, await api.ScalarAsync<long>(
            """
            select count(distinct s.xmin::text) from events s
            where s.stream_id = $1 and not exists (select 1 from events p where p.stream_id <> $1 and p.xmin = s.xmin)
            """,
            saga));
        Assert.Equal($"saga:{orderId:N}:PlaceOrder", await api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 1", $"order-{orderId:N}"));
        Assert.All(order.GetProperty("saga").GetProperty("steps").EnumerateArray(), s => Assert.Equal("Succeeded", s.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task With_carrying_the_orders_events_off_the_orders_grain_confirms_and_completes_the_order_as_steps()
    {
        var clusterId = $"confirm-{Guid.NewGuid():N}"[..16];
        await using var silo = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string> { ["Saga__CarryOrderEvents"] = "false" });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "CONFIRM-1";
        await api.RestockAsync(sku, 5);

        var orderId = await api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1));
        var order = await api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        // The confirmation committed in a transaction of its own (with the saga's record of it), not the authorization's.
        var (authorized, confirmed) = (
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and event_type = 'payment.authorized'", $"payment-{orderId:N}"),
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and event_type = 'order.confirmed'", $"order-{orderId:N}"));
        Assert.NotEqual(authorized, confirmed);
        Assert.Equal(1L, await api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and xmin::text = $2", $"saga-{orderId:N}", confirmed));
        Assert.Equal($"saga:{orderId:N}:ConfirmOrder", await api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 2", $"order-{orderId:N}"));

        // So did the completion, not in the stock commit's.
        var (committed, completed) = (
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and event_type = 'stock.committed'", $"stock-{sku}"),
            await api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and event_type = 'order.completed'", $"order-{orderId:N}"));
        Assert.NotEqual(committed, completed);
        Assert.Equal($"saga:{orderId:N}:CompleteOrder", await api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 3", $"order-{orderId:N}"));
        Assert.All(order.GetProperty("saga").GetProperty("steps").EnumerateArray(), s => Assert.Equal("Succeeded", s.GetProperty("status").GetString()));
    }
}
