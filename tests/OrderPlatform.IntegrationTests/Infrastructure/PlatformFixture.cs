using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace OrderPlatform.IntegrationTests.Infrastructure;

/// <summary>A database of its own and one silo process, shared by the tests of one class.</summary>
public class PlatformFixture : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public string ClusterId { get; } = $"test-{Guid.NewGuid():N}"[..20];

    public SiloProcess Silo { get; private set; } = null!;

    public Platform Api => new(Silo.Http, ConnectionString);

    public virtual async Task InitializeAsync()
    {
        var server = await PostgresServer.InstanceAsync();
        ConnectionString = await server.CreateDatabaseAsync(GetType().Name);
        Silo = await SiloProcess.StartAsync(ConnectionString, ClusterId);
    }

    public virtual async Task DisposeAsync()
    {
        if (Silo is not null)
        {
            await Silo.DisposeAsync();
        }
    }
}

/// <summary>What a client of the platform does, plus direct reads of the database to check what was written.</summary>
public sealed class Platform(HttpClient http, string connectionString)
{
    public HttpClient Http => http;

    public static object Line(string sku, int quantity, decimal unitPrice = 10m) => new { sku, quantity, unitPrice };

    public static object OrderBody(string token, params object[] lines) =>
        new { customerId = "customer-1", currency = "EUR", paymentToken = token, lines };

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body, string? idempotencyKey) =>
        PostRawAsync(path, JsonSerializer.Serialize(body), "application/json", idempotencyKey);

    public async Task<HttpResponseMessage> PostRawAsync(string path, string? body, string? contentType, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8);
            request.Content.Headers.ContentType = contentType is null ? null : MediaTypeHeaderValue.Parse(contentType);
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await http.SendAsync(request);
    }

    public async Task RestockAsync(string sku, int quantity)
    {
        using var response = await PostJsonAsync($"/inventory/{sku}/restock", new { quantity }, $"restock-{Guid.NewGuid()}");
        Assert.True(response.IsSuccessStatusCode, $"restock {sku} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Places an order; like a well-behaved client, retries a 503 (a silo just died) with the same key.</summary>
    public async Task<Guid> PlaceOrderAsync(string token, params object[] lines)
    {
        var key = $"order-{Guid.NewGuid()}";
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await PostJsonAsync("/orders", OrderBody(token, lines), key);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
                continue;
            }

            Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"POST /orders answered {(int)response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("orderId").GetGuid();
        }
    }

    public async Task<JsonElement> GetOrderAsync(Guid orderId)
    {
        var text = await http.GetStringAsync($"/orders/{orderId}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>
    /// Waits for the end with one long-poll read (<c>Prefer: wait=30</c>), which asks the order and the payment only
    /// once the saga finished; unlike <see cref="WaitUntilFinishedAsync"/> it reads no unfinished order.
    /// </summary>
    public async Task<JsonElement> FinishedReadAsync(Guid orderId)
    {
        var (order, _, status) = await GetPreferringAsync(orderId, "wait=30");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(order.GetProperty("saga").GetProperty("phase").GetString() == "Finished", order.ToString());
        return order;
    }

    /// <summary>GET /orders/{id} with a Prefer header: the body, the Preference-Applied header and the status.</summary>
    public async Task<(JsonElement Order, string? Applied, HttpStatusCode Status)> GetPreferringAsync(Guid orderId, string prefer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{orderId}");
        request.Headers.TryAddWithoutValidation("Prefer", prefer);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (JsonDocument.Parse(text).RootElement.Clone(), PreferenceApplied(response), response.StatusCode);
    }

    /// <summary>POST /orders under a key, with a Prefer header when given: the status, the body, Preference-Applied, Location, and whether it was a replay.</summary>
    public async Task<(HttpStatusCode Status, JsonElement Body, string? Applied, string? Location, bool Replayed)> PostPreferringAsync(
        object body, string key, string? prefer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Idempotency-Key", key);
        if (prefer is not null)
        {
            request.Headers.TryAddWithoutValidation("Prefer", prefer);
        }

        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), PreferenceApplied(response), response.Headers.Location?.OriginalString,
            response.Headers.Contains("Idempotent-Replayed"));
    }

    /// <summary>The Preference-Applied header of an answer, or null without one.</summary>
    public static string? PreferenceApplied(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Preference-Applied", out var values) ? string.Join(",", values) : null;

    public async Task<JsonElement> GetStockAsync(string sku) =>
        JsonDocument.Parse(await http.GetStringAsync($"/inventory/{sku}")).RootElement.Clone();

    /// <summary>The silo's activations by grain type, from <c>GET /silo/status</c> (which also has to report its memory).</summary>
    public async Task<Dictionary<string, int>> ActivationsAsync()
    {
        var status = JsonDocument.Parse(await http.GetStringAsync("/silo/status")).RootElement;
        Assert.True(status.GetProperty("workingSetBytes").GetInt64() > 0);
        return status.GetProperty("activations").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
    }

    /// <summary>Polls the order until its saga finished; fails with the last state seen when it does not in time.</summary>
    public async Task<JsonElement> WaitUntilFinishedAsync(Guid orderId, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < limit)
        {
            try
            {
                last = await GetOrderAsync(orderId);
                if (last.GetProperty("saga").GetProperty("phase").GetString() == "Finished")
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // A silo that is restarting: keep asking.
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Order {orderId} did not finish within {limit}. Last state: {last}");
    }

    /// <summary>Polls until <paramref name="condition"/> holds for the order; says what was awaited when it does not.</summary>
    public async Task<JsonElement> WaitForAsync(Guid orderId, Func<JsonElement, bool> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < limit)
        {
            last = await GetOrderAsync(orderId);
            if (condition(last))
            {
                return last;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"Order {orderId}: {what} did not happen within {limit}. Last state: {last}");
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        return (T)(await command.ExecuteScalarAsync())!;
    }

    public Task<long> CountAsync(string table) => ScalarAsync<long>($"select count(*) from {table}");

    /// <summary>Rows per table that API requests can write; used to prove that rejected input wrote nothing.</summary>
    public async Task<(long Events, long Outbox, long Keys, long Sagas)> WrittenRowsAsync() =>
        (await CountAsync("events"), await CountAsync("outbox"), await CountAsync("idempotency_keys"), await CountAsync("sagas"));
}
