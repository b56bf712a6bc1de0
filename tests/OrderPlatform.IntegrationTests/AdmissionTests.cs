using System.Diagnostics;
using System.Net;
using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <c>Admission:MaxRunningSagas</c>: a silo with as many sagas running as it admits refuses the next order at once
/// (503, application/problem+json, Retry-After) and writes nothing for it; once its sagas finish, the same key and body
/// place the order.
/// </summary>
public sealed class AdmissionTests() : OwnDatabase("admission")
{
    [Fact]
    public async Task A_silo_running_as_many_sagas_as_it_admits_refuses_the_next_order_without_writing_and_takes_it_once_they_finish()
    {
        var clusterId = $"admit-{Guid.NewGuid():N}"[..16];
        await using var silo = await SiloProcess.StartAsync(ConnectionString, clusterId, new Dictionary<string, string>
        {
            ["Admission__MaxRunningSagas"] = "2",
            ["Admission__RetryAfterSeconds"] = "3",
            ["Admission__MaxRetryAfterSeconds"] = "12",
        });
        var api = new Platform(silo.Http, ConnectionString);
        const string sku = "ADMIT-1";
        await api.RestockAsync(sku, 10);

        // Two orders whose payment provider takes 8 s to authorize: their sagas run meanwhile, waiting for it.
        Guid[] held = [await api.PlaceOrderAsync("tok_slow_8000", Platform.Line(sku, 1)), await api.PlaceOrderAsync("tok_slow_8000", Platform.Line(sku, 1))];
        var sagas = await SagasAsync(api);
        Assert.Equal((2L, 2L, 0L, 3L), (sagas.Running, sagas.Limit, sagas.Refused, sagas.LatestRetryAfter));

        const string key = "admission-third";
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 1));
        var before = await api.WrittenRowsAsync();
        using (var refused = await api.PostJsonAsync("/orders", body, key))
        {
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, $"answered {(int)refused.StatusCode}: {text}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.EndsWith("/overloaded", JsonDocument.Parse(text).RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(3), refused.Headers.RetryAfter?.Delta);
        }

        // Nothing of the refused order was written, and its key is free.
        Assert.Equal(before, await api.WrittenRowsAsync());
        Assert.Equal(0L, await api.ScalarAsync<long>("select count(*) from idempotency_keys where idempotency_key = $1", key));
        sagas = await SagasAsync(api);
        Assert.Equal((2L, 1L), (sagas.Running, sagas.Refused));

        // Sent again every 150 ms while no saga makes room: each second of refusals doubles the Retry-After, up to the
        // most (Admission:MaxRetryAfterSeconds).
        var given = new List<int>();
        var probing = Stopwatch.StartNew();
        while (given.Count(s => s == 12) < 3 && probing.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(150);
            using var again = await api.PostJsonAsync("/orders", body, key);
            Assert.True(again.StatusCode == HttpStatusCode.ServiceUnavailable, $"answered {(int)again.StatusCode} after {probing.Elapsed}");
            given.Add((int)again.Headers.RetryAfter!.Delta!.Value.TotalSeconds);
        }

        Assert.True(given.Distinct().SequenceEqual([3, 6, 12]), $"Retry-After given: {string.Join(", ", given)}");
        Assert.Equal(before, await api.WrittenRowsAsync());
        sagas = await SagasAsync(api);
        Assert.Equal((2L, 1L + given.Count, 12L), (sagas.Running, sagas.Refused, sagas.LatestRetryAfter));

        foreach (var orderId in held)
        {
            Assert.Equal("Completed", (await api.WaitUntilFinishedAsync(orderId, TimeSpan.FromSeconds(30))).GetProperty("status").GetString());
        }

        // The finished sagas' loops end, and the count goes back to zero.
        await Eventually.HoldsAsync(() => SagasAsync(api), s => s.Running == 0, "no saga running", TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(50));

        // The same key and body, sent again, place the order.
        using var accepted = await api.PostJsonAsync("/orders", body, key);
        var acceptedText = await accepted.Content.ReadAsStringAsync();
        Assert.True(accepted.StatusCode == HttpStatusCode.Accepted, $"answered {(int)accepted.StatusCode}: {acceptedText}");
        var third = JsonDocument.Parse(acceptedText).RootElement.GetProperty("orderId").GetGuid();
        Assert.Equal("Completed", (await api.WaitUntilFinishedAsync(third)).GetProperty("status").GetString());
        Assert.Equal(1L + given.Count, (await SagasAsync(api)).Refused);
    }

    private static async Task<(long Running, long Limit, long Refused, long LatestRetryAfter)> SagasAsync(Platform api)
    {
        var sagas = JsonDocument.Parse(await api.Http.GetStringAsync("/silo/status")).RootElement.GetProperty("sagas");
        return (sagas.GetProperty("running").GetInt64(), sagas.GetProperty("admissionLimit").GetInt64(), sagas.GetProperty("refusedOrders").GetInt64(),
            sagas.GetProperty("latestRetryAfterSeconds").GetInt64());
    }
}
