using System.Net;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The longest wait the API takes (<c>Prefer: wait=30</c>) is as long as a grain call's default timeout; a read or a
/// POST of an order slower than that answers with the order under way when the wait is over, not with an error. A silo
/// of its own: its orders stay under way for two minutes, which tests sharing a silo would see.
/// </summary>
public sealed class LongestWaitTests() : OwnDatabase("longest_wait")
{
    [Fact]
    public async Task The_longest_wait_ends_with_the_order_as_it_is_not_with_an_error()
    {
        await using var silo = await SiloProcess.StartAsync(ConnectionString, $"wait-{Guid.NewGuid():N}"[..16]);
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "WAIT-1";
        await api.RestockAsync(sku, 10);

        // Authorizations of 45 s outlast the wait: the read and the POST both answer when it is over, side by side.
        var read = api.PlaceOrderAsync("tok_slow_45000", Platform.Line(sku, 1))
            .ContinueWith(placed => api.GetPreferringAsync(placed.Result, "wait=30"), TaskScheduler.Default).Unwrap();
        var posted = api.PostPreferringAsync(Platform.OrderBody("tok_slow_45000", Platform.Line(sku, 1)), "longest-wait-post", "wait=30");

        var (order, applied, status) = await read;
        Assert.Equal((HttpStatusCode.OK, "wait=30"), (status, applied));
        Assert.Equal("Forward", order.GetProperty("saga").GetProperty("phase").GetString());
        var post = await posted;
        Assert.Equal((HttpStatusCode.Accepted, "wait=30"), (post.Status, post.Applied));
        Assert.Equal("Accepted", post.Body.GetProperty("status").GetString());
    }
}
