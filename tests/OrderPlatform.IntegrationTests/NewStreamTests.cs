using System.Net;
using System.Text;
using System.Text.Json;
using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Orders;
using OrderPlatform.EventStore.Events;
using OrderPlatform.Grains;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.Grains.Orders;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// A new order's saga, order and payment are created without reading their (empty) streams, and the saga's start
/// stores the POST's response in the same transaction; a caller that was wrong about a stream being new costs a
/// refused append and a read, never a second start. The saga's start also places the order (decision record 0024).
/// </summary>
public sealed class NewStreamTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private readonly Platform _api = fixture.Api;

    private static string NewSku(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private async Task<JsonElement> StatusAsync() => JsonDocument.Parse(await _api.Http.GetStringAsync("/silo/status")).RootElement.Clone();

    private static long Delta(JsonElement first, JsonElement second, string counter) =>
        second.GetProperty("eventStore").GetProperty(counter).GetInt64() - first.GetProperty("eventStore").GetProperty(counter).GetInt64();

    private static long StoredResponses(JsonElement first, JsonElement second) =>
        second.GetProperty("idempotency").GetProperty("completions").GetInt64() - first.GetProperty("idempotency").GetProperty("completions").GetInt64();

    private static long Claims(JsonElement first, JsonElement second) =>
        second.GetProperty("idempotency").GetProperty("claims").GetInt64() - first.GetProperty("idempotency").GetProperty("claims").GetInt64();

    /// <summary>Sends the POST again with the same key and body: the stored answer comes back, marked as a replay.</summary>
    private async Task<string> ReplayAsync(string key, object body)
    {
        using var response = await _api.PostJsonAsync("/orders", body, key);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Idempotent-Replayed")));
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<Guid> PlaceAsync(string key, object body)
    {
        using var response = await _api.PostJsonAsync("/orders", body, key);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST /orders answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("orderId").GetGuid();
    }

    [Fact]
    public async Task New_orders_create_their_saga_order_and_payment_without_reading_their_streams()
    {
        var sku = NewSku("fresh");
        await _api.RestockAsync(sku, 10);
        var first = await StatusAsync();

        var orders = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            orders.Add(await PlaceAsync($"fresh-{Guid.NewGuid()}", Platform.OrderBody("tok_approve", Platform.Line(sku, 1))));
        }

        foreach (var orderId in orders)
        {
            Assert.Equal("Completed", (await _api.FinishedReadAsync(orderId)).GetProperty("status").GetString());
        }

        var second = await StatusAsync();

        // Each order appended 3 times to its own streams (saga 1, payment 2; the order's first event rides on the saga's
        // start, its confirmation and completion on the authorization's and the stock commit's appends with the saga's
        // other records, decision record 0031) and twice to the stock's, where the orders' commands that queue behind
        // one append share the next: at least one append for the reservations and one for the commits. Reading the new
        // saga's, order's and payment's streams on activation would have been 15 reads: the saga and the payment are
        // created by their first appends, and the order's grain is not called on a happy order's way. Nor is it by the
        // read of the finished order: the saga wrote the order's whole stream and answers for it, so no order's stream
        // is read at all (it was once each, five reads, when the read activated the order's grain). A stray read (the
        // recovery scan) may still happen.
        Assert.True(Delta(first, second, "appends") >= (5 * 3) + 2, $"{Delta(first, second, "appends")} appends");
        Assert.InRange(Delta(first, second, "reads"), 0, 4);
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal(5, stock.GetProperty("sold").GetInt32());
    }

    [Fact]
    public async Task A_new_order_and_the_answer_to_its_replays_are_committed_together()
    {
        var sku = NewSku("answer");
        await _api.RestockAsync(sku, 5);
        var key = $"answer-{Guid.NewGuid()}";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 1));
        var first = await StatusAsync();

        var orderId = await PlaceAsync(key, body);
        var second = await StatusAsync();

        // The saga's start claimed the key and carried the response: no claim before it, nothing stored after it, and the
        // key's record is complete, written by the transaction that wrote the saga's first event.
        Assert.Equal(0, Claims(first, second));
        Assert.Equal(0, StoredResponses(first, second));
        Assert.Equal(202, await _api.ScalarAsync<int>("select status_code from idempotency_keys where idempotency_key = $1 and completed", key));
        Assert.Equal(
            await _api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", $"saga-{orderId:N}"),
            await _api.ScalarAsync<string>("select xmin::text from idempotency_keys where idempotency_key = $1", key));
        Assert.Equal($"/orders/{orderId}", await _api.ScalarAsync<string>("select location from idempotency_keys where idempotency_key = $1", key));
        var replayed = JsonDocument.Parse(await ReplayAsync(key, body)).RootElement;
        Assert.Equal(orderId, replayed.GetProperty("orderId").GetGuid());
        Assert.Equal("Completed", (await _api.FinishedReadAsync(orderId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_key_reused_after_its_retention_finds_the_saga_it_started_and_starts_nothing_again()
    {
        var sku = NewSku("reused");
        await _api.RestockAsync(sku, 10);
        var key = $"reused-{Guid.NewGuid()}";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 2));
        var orderId = await PlaceAsync(key, body);
        Assert.Equal("Completed", (await _api.FinishedReadAsync(orderId)).GetProperty("status").GetString());

        // The key's record is gone, as after its retention; the finished order's grains deactivate.
        await _api.ScalarAsync<int>("with gone as (delete from idempotency_keys where idempotency_key = $1 returning 1) select count(*)::int from gone", key);
        await WhenAtRestAsync();
        var first = await StatusAsync();

        // The same key and body name the same order: the API takes it for new, the saga's append at version 0 is refused,
        // and the saga reads its stream and answers with the order as it is.
        Assert.Equal(orderId, await PlaceAsync(key, body));
        var second = await StatusAsync();
        Assert.True(Delta(first, second, "appends") >= 1, "the saga tried to append its start at version 0");
        Assert.True(Delta(first, second, "reads") >= 1, "the saga read its stream after its append was refused");

        // The saga had started before, so its start claimed and stored nothing: the key was claimed on its own, the
        // response stored after it, and it is replayed.
        Assert.Equal(1, Claims(first, second));
        Assert.Equal(1, StoredResponses(first, second));
        Assert.Equal(orderId, JsonDocument.Parse(await ReplayAsync(key, body)).RootElement.GetProperty("orderId").GetGuid());

        var order = await _api.FinishedReadAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'saga.started'", $"saga-{orderId:N}"));
        Assert.Equal(3L, await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"order-{orderId:N}"));
        Assert.Equal(1L, await _api.ScalarAsync<long>(
            "select count(*) from psp_simulator.operations where idempotency_key like $1 and operation = 'capture'", $"{orderId:N}:%"));
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal(2, stock.GetProperty("sold").GetInt32());
        Assert.Equal(8, stock.GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task A_new_orders_first_event_is_written_by_its_sagas_start_and_published()
    {
        var sku = NewSku("placed");
        await _api.RestockAsync(sku, 5);
        var key = $"placed-{Guid.NewGuid()}";
        var orderId = await PlaceAsync(key, Platform.OrderBody("tok_approve", Platform.Line(sku, 2, 3.25m)));

        // The order exists as soon as the POST answers: its first event committed with the saga's start and the key,
        // named by the command the saga's first attempt at placing it would have sent, with the request's correlation id,
        // and it has an outbox row (it reaches Kafka like every order event).
        var order = $"order-{orderId:N}";
        var saga = $"saga-{orderId:N}";
        Assert.Equal(
            await _api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", saga),
            await _api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1 and event_type = 'order.placed'", order));
        Assert.Equal($"saga:{orderId:N}:PlaceOrder", await _api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 1", order));
        Assert.Equal(
            await _api.ScalarAsync<string>("select metadata->>'correlationId' from events where stream_id = $1 and version = 1", saga),
            await _api.ScalarAsync<string>("select metadata->>'correlationId' from events where stream_id = $1 and version = 1", order));
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from outbox where stream_id = $1 and version = 1 and aggregate_type = 'order'", order));

        // The saga's first attempt at placing it started and succeeded in that append; the reservation started with it.
        var finished = await _api.FinishedReadAsync(orderId);
        Assert.Equal("Completed", finished.GetProperty("status").GetString());
        Assert.Equal(6.50m, finished.GetProperty("total").GetProperty("amount").GetDecimal());
        var steps = finished.GetProperty("saga").GetProperty("steps").EnumerateArray().ToList();
        var place = steps.Single(s => s.GetProperty("step").GetString() == "PlaceOrder");
        Assert.Equal(("Succeeded", 1, "Placed"), (place.GetProperty("status").GetString(), place.GetProperty("attempts").GetInt32(), place.GetProperty("detail").GetString()));
        Assert.Equal(1L, await _api.ScalarAsync<long>(
            "select count(*) from event_log where stream_id = $1 and event_type = 'saga.step-started' and data->'step'->>'kind' = 'PlaceOrder'", saga));
        Assert.Equal(
            "order.placed,order.confirmed,order.completed",
            await _api.ScalarAsync<string>("select string_agg(event_type, ',' order by version) from events where stream_id = $1", order));
    }

    [Fact]
    public async Task A_start_that_finds_its_orders_stream_written_starts_without_it_and_the_orders_grain_answers_the_step()
    {
        var sku = NewSku("written");
        await _api.RestockAsync(sku, 10);
        var key = $"written-{Guid.NewGuid()}";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 2));
        var orderId = OrderIds.For(key, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(body)));

        // Another writer placed the order before its saga started.
        await using (var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString))
        {
            var store = new PostgresEventStore(dataSource, TimeProvider.System);
            var placed = new OrderPlaced(orderId, "customer-1", [new OrderLine(sku, 2, 10m)], new Money(20m, "EUR"), DateTimeOffset.UtcNow);
            Assert.Equal(1, await store.AppendAsync(
                $"order-{orderId:N}", OrderGrain.Aggregate, 0, EventTypes.Orders.ToAppend([placed], "another-writer", null, DateTimeOffset.UtcNow)));
        }

        // The start's append with the order's first event is refused whole (the order's version 1 exists); decided again,
        // the start leaves the order out, and the first stage sends the order's grain the command, which finds it placed.
        Assert.Equal(orderId, await PlaceAsync(key, body));
        var order = await _api.FinishedReadAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        var saga = $"saga-{orderId:N}";
        Assert.Equal(
            "order.placed,order.confirmed,order.completed",
            await _api.ScalarAsync<string>("select string_agg(event_type, ',' order by version) from events where stream_id = $1", $"order-{orderId:N}"));
        Assert.Equal("another-writer", await _api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 1", $"order-{orderId:N}"));
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from event_log where stream_id = $1 and event_type = 'saga.started'", saga));
        Assert.Equal(2L, await _api.ScalarAsync<long>(
            "select count(*) from event_log where stream_id = $1 and data->'step'->>'kind' = 'PlaceOrder'", saga));
        Assert.NotEqual(
            await _api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", saga),
            await _api.ScalarAsync<string>("select xmin::text from events where stream_id = $1 and version = 1", $"order-{orderId:N}"));
        Assert.Equal(
            await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", saga),
            await _api.ScalarAsync<int>("select max(version) from events where stream_id = $1", saga));
        Assert.Equal(1L, await _api.ScalarAsync<long>(
            "select count(*) from psp_simulator.operations where idempotency_key like $1 and operation = 'capture'", $"{orderId:N}:%"));
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal((8, 2), (stock.GetProperty("available").GetInt32(), stock.GetProperty("sold").GetInt32()));
    }

    [Fact]
    public async Task An_orders_grain_told_fewer_events_than_its_stream_holds_reads_the_rest_and_decides_again()
    {
        var sku = NewSku("told");
        await _api.RestockAsync(sku, 5);
        var orderId = await PlaceAsync($"told-{Guid.NewGuid()}", Platform.OrderBody("tok_slow_3000", Platform.Line(sku, 1)));
        var order = $"order-{orderId:N}";

        // While the payment is authorized (3 s), before the saga's first command to the order, another writer confirms it.
        await WhenAuthorizationStartedAsync(orderId);

        await using (var dataSource = NpgsqlDataSource.Create(fixture.ConnectionString))
        {
            var store = new PostgresEventStore(dataSource, TimeProvider.System);
            Assert.Equal(2, await store.AppendAsync(
                order, OrderGrain.Aggregate, 1, EventTypes.Orders.ToAppend([new OrderConfirmed(DateTimeOffset.UtcNow)], "another-writer", null, DateTimeOffset.UtcNow)));
        }

        var first = await StatusAsync();
        var finished = await _api.FinishedReadAsync(orderId);
        var second = await StatusAsync();

        // The saga told the order's grain the one event its start wrote; the grain's append after it was refused, it read
        // what followed and found the order confirmed: one confirmation, the other writer's, and the order completed.
        Assert.Equal("Completed", finished.GetProperty("status").GetString());
        Assert.Equal(
            "order.placed,order.confirmed,order.completed",
            await _api.ScalarAsync<string>("select string_agg(event_type, ',' order by version) from events where stream_id = $1", order));
        Assert.Equal("another-writer", await _api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 2", order));
        Assert.True(Delta(first, second, "reads") >= 1, "the order's grain read the event it was not told");
    }

    [Fact]
    public async Task A_read_while_the_payment_is_being_created_answers_without_waiting_for_the_provider()
    {
        var sku = NewSku("slow");
        await _api.RestockAsync(sku, 5);
        var orderId = await PlaceAsync($"slow-{Guid.NewGuid()}", Platform.OrderBody("tok_slow_5000", Platform.Line(sku, 1)));

        // Nothing reads the order before the saga creates its payment: the authorization's start is awaited in the store.
        await WhenAuthorizationStartedAsync(orderId);

        await Task.Delay(200);
        var during = await _api.GetOrderAsync(orderId);

        // The provider takes 5 s to answer: the read answered while the authorization was still under way, not after it.
        var step = during.GetProperty("saga").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == "AuthorizePayment");
        Assert.Equal("Running", step.GetProperty("status").GetString());
        Assert.True(!during.TryGetProperty("payment", out var payment) || payment.ValueKind == JsonValueKind.Null, $"payment: {during}");

        var order = await _api.FinishedReadAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal("Captured", order.GetProperty("payment").GetProperty("status").GetString());
    }

    /// <summary>Waits, reading the store only (no grain is asked), until the saga has recorded the start of the authorization.</summary>
    private async Task WhenAuthorizationStartedAsync(Guid orderId) =>
        await Eventually.HoldsAsync(
            () => _api.ScalarAsync<long>(
                "select count(*) from event_log where stream_id = $1 and event_type = 'saga.step-started' and data->'step'->>'kind' = 'AuthorizePayment'",
                $"saga-{orderId:N}"),
            started => started > 0,
            "the authorization's start",
            interval: TimeSpan.FromMilliseconds(20));

    private static readonly string[] RestingTypes = ["OrderSagaGrain", "OrderGrain", "PaymentGrain"];

    private async Task WhenAtRestAsync() =>
        await Eventually.HoldsAsync(
            async () => (await StatusAsync()).GetProperty("activations"),
            activations => RestingTypes.All(type => !activations.TryGetProperty(type, out var count) || count.GetInt32() == 0),
            "sagas, orders and payments to deactivate",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(250));
}
