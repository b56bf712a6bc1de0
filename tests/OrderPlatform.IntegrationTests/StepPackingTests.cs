using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// A cluster moving onto packed step rows (decision record 0020): a saga begun by a silo that writes one event to a
/// row is finished by one that packs, and reads both kinds of row in one stream.
/// </summary>
public sealed class StepPackingTests() : OwnDatabase("step_packing")
{
    [Fact]
    public async Task A_saga_begun_by_a_silo_that_does_not_pack_is_finished_by_one_that_does()
    {
        var clusterId = $"pack-{Guid.NewGuid():N}"[..16];
        await using var unpacked = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string> { ["Saga__PackStepEvents"] = "false" });
        var api = new Platform(unpacked.Http, ConnectionString);
        const string sku = "PACK-1";
        await api.RestockAsync(sku, 5);

        // Authorization takes 3 s at the simulated provider: the silo dies while the saga waits on it.
        var orderId = await api.PlaceOrderAsync("tok_slow_3000", Platform.Line(sku, 2));
        await api.WaitForAsync(orderId, o => o.GetProperty("saga").GetProperty("steps").EnumerateArray().Any(s => s.GetProperty("step").GetString() == "AuthorizePayment"),
            "the AuthorizePayment step to start");
        var stream = $"saga-{orderId:N}";
        Assert.Equal(0L, await api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'saga.steps'", stream));
        unpacked.Kill();

        await using var packing = await SiloProcess.StartAsync(ConnectionString, clusterId, ports: (unpacked.HttpPort, unpacked.SiloPort, unpacked.GatewayPort));
        await unpacked.DisposeAsync();
        api = new Platform(packing.Http, ConnectionString);
        var order = await api.WaitUntilFinishedAsync(orderId, TimeSpan.FromSeconds(60));

        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal("Captured", order.GetProperty("payment").GetProperty("status").GetString());
        Assert.All(order.GetProperty("saga").GetProperty("steps").EnumerateArray(), s => Assert.Equal("Succeeded", s.GetProperty("status").GetString()));

        // The stream holds step events one to a row (the first silo's) and packed (the second's), versions without gaps,
        // and each of the seven steps succeeded once.
        Assert.True(await api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'saga.step-started'", stream) >= 3);
        Assert.True(await api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'saga.steps'", stream) >= 1);
        Assert.Equal(
            await api.ScalarAsync<long>("select count(*) from events where stream_id = $1", stream),
            await api.ScalarAsync<int>("select max(version) from events where stream_id = $1", stream));
        Assert.Equal(7L, await api.ScalarAsync<long>("select count(*) from event_log where stream_id = $1 and event_type = 'saga.step-succeeded'", stream));
        Assert.Equal(1L, await api.ScalarAsync<long>("select count(*) from event_log where stream_id = $1 and event_type = 'saga.finished'", stream));
    }
}
