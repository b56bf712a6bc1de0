using System.Diagnostics;
using System.Net;
using OrderPlatform.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace OrderPlatform.IntegrationTests;

/// <summary>Silo processes killed with SIGKILL and clusters of several silo processes on one database.</summary>
public sealed class DurabilityTests(ITestOutputHelper output) : OwnDatabase("durability")
{
    [Fact]
    public async Task A_saga_cut_off_by_a_killed_silo_finishes_on_a_new_silo_and_its_state_matches_its_events()
    {
        var clusterId = $"kill-{Guid.NewGuid():N}"[..16];
        await using var first = await SiloProcess.StartAsync(ConnectionString, clusterId);
        var api = new Platform(first.Http, ConnectionString);
        const string sku = "DURABLE-1";
        await api.RestockAsync(sku, 10);

        // Authorization takes 3 s at the simulated provider, so the silo dies while the saga waits on it.
        var orderId = await api.PlaceOrderAsync("tok_slow_3000", Platform.Line(sku, 4, 2.5m));
        await api.WaitForAsync(orderId, o => o.GetProperty("saga").GetProperty("steps").EnumerateArray().Any(s => s.GetProperty("step").GetString() == "AuthorizePayment"),
            "the AuthorizePayment step to start");
        first.Kill();
        var killedAt = Stopwatch.StartNew();

        // Same ports, as a restarted process would have them.
        await using var second = await SiloProcess.StartAsync(ConnectionString, clusterId, ports: (first.HttpPort, first.SiloPort, first.GatewayPort));
        await first.DisposeAsync();
        api = new Platform(second.Http, ConnectionString);
        var order = await api.WaitUntilFinishedAsync(orderId, TimeSpan.FromSeconds(60));
        output.WriteLine($"Order finished {killedAt.ElapsedMilliseconds} ms after the kill.");

        Assert.Equal("Completed", order.GetProperty("status").GetString());
        var authorize = order.GetProperty("saga").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == "AuthorizePayment");
        Assert.True(authorize.GetProperty("attempts").GetInt32() >= 2, "the attempt cut off by the kill is retried");

        // The state the API reports is the fold of the stored events.
        Assert.Equal("order.completed", await api.ScalarAsync<string>(
            "select event_type from events where stream_id = $1 order by version desc limit 1", $"order-{orderId:N}"));
        var stock = await api.GetStockAsync(sku);
        var fromEvents = await api.ScalarAsync<string>(
            """
            select concat_ws(',',
                sum((data->>'quantity')::int) filter (where event_type = 'stock.restocked'),
                sum((data->>'quantity')::int) filter (where event_type = 'stock.committed'))
            from events where stream_id = $1
            """, $"stock-{sku}");
        Assert.Equal($"{stock.GetProperty("onHand").GetInt32()},{stock.GetProperty("sold").GetInt32()}", fromEvents);
        Assert.Equal((10, 6, 0, 4), (stock.GetProperty("onHand").GetInt32(), stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));

        // Charged once, and every stream is gap-free.
        Assert.Equal(1L, await api.ScalarAsync<long>(
            "select count(*) from psp_simulator.operations where idempotency_key like $1 and operation = 'capture'", $"{orderId:N}:%"));
        Assert.Equal(0L, await api.ScalarAsync<long>(
            "select count(*) from (select stream_id from events group by stream_id having max(version) <> count(*) or min(version) <> 1) gaps"));
    }

    [Fact]
    public async Task Two_silo_processes_form_one_cluster_through_the_membership_table()
    {
        var clusterId = $"pair-{Guid.NewGuid():N}"[..16];
        await using var a = await SiloProcess.StartAsync(ConnectionString, clusterId);
        await using var b = await SiloProcess.StartAsync(ConnectionString, clusterId);
        var viaA = new Platform(a.Http, ConnectionString);
        var viaB = new Platform(b.Http, ConnectionString);

        await WaitForActiveSilosAsync(viaA, clusterId, 2);

        // Orders through either silo reach the same grains.
        await viaA.RestockAsync("PAIR-1", 10);
        var orderId = await viaB.PlaceOrderAsync("tok_approve", Platform.Line("PAIR-1", 1));
        var order = await viaA.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(9, (await viaB.GetStockAsync("PAIR-1")).GetProperty("available").GetInt32());
    }

    /// <summary>
    /// Reads that wait on a saga whose silo is killed are cut off by the cluster, not by a fault of the platform: the
    /// GET answers 503 with Retry-After, the POST replaying the order's key answers its stored 202, neither a 500; and
    /// the order is then read whole, finished on the silo that is left.
    /// </summary>
    [Fact]
    public async Task Reads_waiting_on_a_killed_silos_saga_answer_503_and_202_and_the_order_finishes_on_the_other()
    {
        var clusterId = $"cut-{Guid.NewGuid():N}"[..16];
        await using var a = await SiloProcess.StartAsync(ConnectionString, clusterId);
        await using var b = await SiloProcess.StartAsync(ConnectionString, clusterId);
        await WaitForActiveSilosAsync(new Platform(a.Http, ConnectionString), clusterId, 2);
        await new Platform(a.Http, ConnectionString).RestockAsync("CUT-1", 10);

        // An 8 s authorization keeps the saga waiting on its silo while the reads wait on it.
        var body = Platform.OrderBody("tok_slow_8000", Platform.Line("CUT-1", 2));
        var key = $"cut-{Guid.NewGuid():N}";
        var placed = await new Platform(b.Http, ConnectionString).PostPreferringAsync(body, key, prefer: null);
        Assert.Equal(HttpStatusCode.Accepted, placed.Status);
        var orderId = placed.Body.GetProperty("orderId").GetGuid();
        await new Platform(b.Http, ConnectionString).WaitForAsync(orderId,
            o => o.GetProperty("saga").GetProperty("steps").EnumerateArray().Any(s => s.GetProperty("step").GetString() == "AuthorizePayment"),
            "the AuthorizePayment step to start");

        // The saga lives on one silo; the reads go to the other, which outlives it.
        var onA = (await new Platform(a.Http, ConnectionString).ActivationsAsync()).GetValueOrDefault("OrderSagaGrain");
        var onB = (await new Platform(b.Http, ConnectionString).ActivationsAsync()).GetValueOrDefault("OrderSagaGrain");
        Assert.True(onA + onB == 1, $"one saga activation in the cluster: {onA} on a, {onB} on b");
        var (host, reader) = onA == 1 ? (a, b) : (b, a);
        var readerApi = new Platform(reader.Http, ConnectionString);

        var get = ReadWaitingAsync(reader.Http, orderId);
        var replay = readerApi.PostPreferringAsync(body, key, prefer: "wait=30");
        // Time for the replay's start to find the saga started and for both to be waiting, well inside the authorization.
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(get.IsCompleted || replay.IsCompleted, "both reads wait on the saga");
        host.Kill();
        var killedAt = Stopwatch.StartNew();

        var (status, contentType, retryAfter, applied, problem) = await get;
        output.WriteLine($"GET answered {(int)status} {killedAt.ElapsedMilliseconds} ms after the kill: {problem}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("application/problem+json", contentType);
        Assert.Equal("1", retryAfter);
        Assert.Null(applied);
        Assert.Contains("A silo did not answer in time or left the cluster", problem, StringComparison.Ordinal);

        var replayed = await replay;
        output.WriteLine($"The replayed POST answered {(int)replayed.Status} {killedAt.ElapsedMilliseconds} ms after the kill.");
        Assert.Equal(HttpStatusCode.Accepted, replayed.Status);
        Assert.True(replayed.Replayed, "the replay answers the stored response");
        Assert.Null(replayed.Applied);
        Assert.Equal(orderId, replayed.Body.GetProperty("orderId").GetGuid());

        var order = await readerApi.WaitUntilFinishedAsync(orderId, TimeSpan.FromSeconds(90));
        output.WriteLine($"Order finished {killedAt.ElapsedMilliseconds} ms after the kill.");
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(1L, await readerApi.ScalarAsync<long>(
            "select count(*) from psp_simulator.operations where idempotency_key like $1 and operation = 'capture'", $"{orderId:N}:%"));
    }

    private static async Task<(HttpStatusCode Status, string? ContentType, string? RetryAfter, string? Applied, string Body)> ReadWaitingAsync(HttpClient http, Guid orderId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{orderId}");
        request.Headers.TryAddWithoutValidation("Prefer", "wait=30");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, response.Headers.RetryAfter?.ToString(),
            Platform.PreferenceApplied(response),
            await response.Content.ReadAsStringAsync());
    }

    // Status 3 is Orleans' SiloStatus.Active.
    private static async Task WaitForActiveSilosAsync(Platform api, string clusterId, int expected) =>
        await Eventually.HoldsAsync(
            () => api.ScalarAsync<long>("select count(*) from orleans_membership where deployment_id = $1 and status = 3", clusterId),
            active => active == expected,
            $"{expected} active silos in cluster {clusterId}");
}
