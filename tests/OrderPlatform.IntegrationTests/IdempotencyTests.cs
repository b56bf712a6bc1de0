using System.Net;
using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

public sealed class IdempotencyTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private readonly Platform _api = fixture.Api;

    private async Task<string> StockedSkuAsync()
    {
        var sku = $"idem-{Guid.NewGuid():N}"[..20];
        await _api.RestockAsync(sku, 1000);
        return sku;
    }

    [Fact]
    public async Task A_replay_with_the_same_body_returns_the_stored_response_and_places_one_order()
    {
        var sku = await StockedSkuAsync();
        var key = $"replay-{Guid.NewGuid()}";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 1));

        using var first = await _api.PostJsonAsync("/orders", body, key);
        using var second = await _api.PostJsonAsync("/orders", body, key);

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
        var orderId = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("orderId").GetGuid();
        await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'stock.reserved'", $"stock-{sku}"));
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from events where event_type = 'order.placed' and stream_id = $1", $"order-{orderId:N}"));
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_422_and_changes_nothing()
    {
        var sku = await StockedSkuAsync();
        var key = $"mismatch-{Guid.NewGuid()}";
        using var first = await _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, 1)), key);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var orderId = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("orderId").GetGuid();
        await _api.WaitUntilFinishedAsync(orderId);
        var before = await _api.WrittenRowsAsync();

        using var other = await _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, 2)), key);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.Equal("application/problem+json", other.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await _api.WrittenRowsAsync());
        Assert.Equal(999, (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task Twenty_concurrent_requests_with_one_key_produce_one_order()
    {
        var sku = await StockedSkuAsync();
        var key = $"concurrent-{Guid.NewGuid()}";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 1));
        var sagasBefore = await _api.CountAsync("sagas");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _api.PostJsonAsync("/orders", body, key)));
        var bodies = await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Single(bodies.Distinct());
        var orderId = JsonDocument.Parse(bodies[0]).RootElement.GetProperty("orderId").GetGuid();
        await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal(sagasBefore + 1, await _api.CountAsync("sagas"));
        Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'stock.reserved'", $"stock-{sku}"));
        Assert.Equal(999, (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_and_different_bodies_place_one_order_and_refuse_the_others()
    {
        // Each start tries to claim the key in its own transaction: one commits, the others are refused whole.
        var sku = await StockedSkuAsync();
        var key = $"contested-{Guid.NewGuid()}";
        var sagasBefore = await _api.CountAsync("sagas");

        var responses = await Task.WhenAll(Enumerable.Range(1, 10).Select(n => _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, n)), key)));
        try
        {
            var accepted = Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
            Assert.All(responses.Where(r => r != accepted), r => Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode));
            var orderId = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("orderId").GetGuid();
            var order = await _api.WaitUntilFinishedAsync(orderId);
            Assert.Equal("Completed", order.GetProperty("status").GetString());
            Assert.Equal(sagasBefore + 1, await _api.CountAsync("sagas"));
            Assert.Equal(1L, await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'stock.reserved'", $"stock-{sku}"));
            Assert.Equal(1000 - order.GetProperty("lines")[0].GetProperty("quantity").GetInt32(), (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_key_held_by_another_request_in_flight_refuses_an_order_and_nothing_of_it_is_written()
    {
        var sku = await StockedSkuAsync();
        var key = $"held-{Guid.NewGuid()}";
        await _api.ScalarAsync<long>(
            """
            with r as (insert into idempotency_keys (idempotency_key, request_hash, completed, created_at, expires_at, lease_until)
                       values ($1, '\x00'::bytea, false, now(), now() + interval '1 day', now() + interval '1 minute') returning 1)
            select count(*) from r
            """, key);
        var before = await _api.WrittenRowsAsync();

        using var response = await _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, 1)), key);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await _api.WrittenRowsAsync());
        Assert.False(await _api.ScalarAsync<bool>("select completed from idempotency_keys where idempotency_key = $1", key));
        Assert.Equal(1000, (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task After_its_retention_a_key_reused_with_another_body_places_a_new_order()
    {
        var sku = await StockedSkuAsync();
        var key = $"expired-{Guid.NewGuid()}";
        using var first = await _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, 1)), key);
        var firstId = JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("orderId").GetGuid();
        await _api.WaitUntilFinishedAsync(firstId);

        // 24 hours later, as far as the key is concerned.
        await _api.ScalarAsync<long>(
            "with r as (update idempotency_keys set expires_at = now() - interval '1 second' where idempotency_key = $1 returning 1) select count(*) from r", key);
        using var second = await _api.PostJsonAsync("/orders", Platform.OrderBody("tok_approve", Platform.Line(sku, 2)), key);

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var secondId = JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("orderId").GetGuid();
        Assert.NotEqual(firstId, secondId);
        var order = await _api.WaitUntilFinishedAsync(secondId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(2, order.GetProperty("lines")[0].GetProperty("quantity").GetInt32());
    }

    [Fact]
    public async Task A_restock_replayed_adds_stock_once()
    {
        var sku = await StockedSkuAsync();
        var key = $"restock-{Guid.NewGuid()}";

        using var first = await _api.PostJsonAsync($"/inventory/{sku}/restock", new { quantity = 5 }, key);
        using var second = await _api.PostJsonAsync($"/inventory/{sku}/restock", new { quantity = 5 }, key);
        using var otherSku = await _api.PostJsonAsync($"/inventory/{sku}x/restock", new { quantity = 5 }, key);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, otherSku.StatusCode);
        Assert.Equal(1005, (await _api.GetStockAsync(sku)).GetProperty("onHand").GetInt32());
    }
}
