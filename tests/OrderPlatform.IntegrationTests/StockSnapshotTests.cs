using System.Diagnostics;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// A SKU's stock saves a snapshot every <c>Grains:SnapshotEvery</c> events (decision record 0028), and a silo that
/// activates the SKU again starts from it and reads only the events after it; a snapshot it cannot read is passed over.
/// </summary>
public sealed class StockSnapshotTests() : OwnDatabase("stock_snapshots")
{
    private const string Sku = "SNAP-1";

    private static readonly Dictionary<string, string> EveryFourEvents = new() { ["Grains__SnapshotEvery"] = "4" };

    [Fact]
    public async Task A_restarted_silo_starts_a_sku_from_its_snapshot_and_replays_only_the_events_after_it()
    {
        var clusterId = $"snap-{Guid.NewGuid():N}"[..16];
        var first = await SiloProcess.StartAsync(ConnectionString, clusterId, EveryFourEvents);
        var ports = (first.HttpPort, first.SiloPort, first.GatewayPort);
        int streamVersion;
        await using (first)
        {
            var api = new Platform(first.Http, ConnectionString);
            await api.RestockAsync(Sku, 100);
            for (var i = 0; i < 3; i++)
            {
                var orderId = await api.PlaceOrderAsync("tok_approve", Platform.Line(Sku, 1));
                Assert.Equal("Completed", (await api.WaitUntilFinishedAsync(orderId)).GetProperty("status").GetString());
            }

            streamVersion = await api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"stock-{Sku}");
            Assert.Equal(7, streamVersion);

            // Saved beside the grain's work: wait for it. The first append to reach version 4 saved it.
            await WaitForSnapshotAsync(api);
            first.Kill();
        }

        var db = new Platform(new HttpClient(), ConnectionString);
        var (version, sold) = (await db.ScalarAsync<int>("select version from snapshots where stream_id = $1", $"stock-{Sku}"),
            await db.ScalarAsync<int>("select (state->>'sold')::int from snapshots where stream_id = $1", $"stock-{Sku}"));
        Assert.InRange(version, 4, streamVersion - 1);
        Assert.True(sold < 3, $"the snapshot at version {version} has sold {sold}");
        Assert.Equal(1L, await db.ScalarAsync<long>(
            "select count(*) from snapshots s, jsonb_each(s.commands) c, jsonb_array_elements(c.value) e where s.stream_id = $1 and e->>'type' = 'stock.restocked'",
            $"stock-{Sku}"));

        // Make the snapshot say something the events do not: the silo that trusts it shows it, with the later sales on top.
        await db.ScalarAsync<int>(
            "update snapshots set state = jsonb_set(state, '{onHand}', to_jsonb((state->>'onHand')::int + 1000)) where stream_id = $1 returning 1", $"stock-{Sku}");
        await using (var second = await SiloProcess.StartAsync(ConnectionString, clusterId, EveryFourEvents, ports: ports))
        {
            var stock = await new Platform(second.Http, ConnectionString).GetStockAsync(Sku);
            Assert.Equal((1100, 3, streamVersion), (stock.GetProperty("onHand").GetInt32(), stock.GetProperty("sold").GetInt32(), stock.GetProperty("version").GetInt32()));
            second.Kill();
        }

        // A snapshot in a format this build does not read is passed over: the stream is replayed whole.
        await db.ScalarAsync<int>("update snapshots set schema_version = 999 where stream_id = $1 returning 1", $"stock-{Sku}");
        await using (var third = await SiloProcess.StartAsync(ConnectionString, clusterId, EveryFourEvents, ports: ports))
        {
            var stock = await new Platform(third.Http, ConnectionString).GetStockAsync(Sku);
            Assert.Equal((100, 97, 3, streamVersion), (stock.GetProperty("onHand").GetInt32(), stock.GetProperty("available").GetInt32(), stock.GetProperty("sold").GetInt32(), stock.GetProperty("version").GetInt32()));
        }
    }

    [Fact]
    public async Task A_sku_that_remembers_more_orders_is_snapshotted_less_often()
    {
        // Told to snapshot after every event: each snapshot still waits for as many events as the orders the SKU holds
        // or remembers, so after ten orders (21 events) the last one is several events behind.
        await using var silo = await SiloProcess.StartAsync(ConnectionString, $"weight-{Guid.NewGuid():N}"[..16], new Dictionary<string, string> { ["Grains__SnapshotEvery"] = "1" });
        var api = new Platform(silo.Http, ConnectionString);
        await api.RestockAsync(Sku, 100);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("Completed", (await api.WaitUntilFinishedAsync(await api.PlaceOrderAsync("tok_approve", Platform.Line(Sku, 1)))).GetProperty("status").GetString());
        }

        await WaitForSnapshotAsync(api);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Equal(21, await api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"stock-{Sku}"));
        var (version, remembered) = (await api.ScalarAsync<int>("select version from snapshots where stream_id = $1", $"stock-{Sku}"),
            await api.ScalarAsync<int>("select (select count(*) from jsonb_object_keys(state->'closed'))::int from snapshots where stream_id = $1", $"stock-{Sku}"));
        Assert.InRange(version, 1, 21 - 3);
        Assert.True(remembered < 10, $"the snapshot at version {version} remembers {remembered} orders");
    }

    private static async Task WaitForSnapshotAsync(Platform api)
    {
        var clock = Stopwatch.StartNew();
        while (await api.CountAsync("snapshots") == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "no snapshot was saved");
            await Task.Delay(50);
        }
    }
}
