using System.Text;
using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>Every kind of bad input gets a 4xx application/problem+json answer and writes no row anywhere.</summary>
public sealed class BadInputTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private const string Sku = "BAD-INPUT-SKU";
    private readonly Platform _api = fixture.Api;

    private static string Order(string linesJson, string currency = "\"EUR\"") =>
        $$"""{"customerId":"c-1","currency":{{currency}},"paymentToken":"tok_approve","lines":{{linesJson}}}""";

    private static string Lines(int count, string quantity = "1") =>
        "[" + string.Join(',', Enumerable.Repeat($$"""{"sku":"{{Sku}}","quantity":{{quantity}},"unitPrice":1.5}""", count)) + "]";

    /// <summary>An order whose customer id alone is 5 MB: over the body limit whether its length is declared or not.</summary>
    private static string FiveMegabyteOrder => Order("[]").Replace("\"c-1\"", "\"" + new string('x', 5 * 1024 * 1024) + "\"", StringComparison.Ordinal);

    public static TheoryData<string, string?, string?, bool, int> OrderCases => new()
    {
        // name, body, content type, send a key, expected status
        { "malformed JSON", """{"customerId": "c-1", "lines": [""", "application/json", true, 400 },
        { "not an object", "[1,2,3]", "application/json", true, 400 },
        { "empty body", null, "application/json", true, 400 },
        { "wrong content type", Order(Lines(1)), "text/plain", true, 415 },
        { "form content type", "customerId=c-1", "application/x-www-form-urlencoded", true, 415 },
        { "missing idempotency key", Order(Lines(1)), "application/json", false, 400 },
        { "unknown SKU", Order("""[{"sku":"NO-SUCH-SKU","quantity":1,"unitPrice":1}]"""), "application/json", true, 422 },
        { "invalid SKU characters", Order("""[{"sku":"bad sku!","quantity":1,"unitPrice":1}]"""), "application/json", true, 400 },
        { "quantity 0", Order(Lines(1, "0")), "application/json", true, 400 },
        { "quantity -1", Order(Lines(1, "-1")), "application/json", true, 400 },
        { "quantity 2,147,483,648", Order(Lines(1, "2147483648")), "application/json", true, 400 },
        { "quantity 1e40", Order(Lines(1, "1e40")), "application/json", true, 400 },
        { "quantity as text", Order(Lines(1, "\"two\"")), "application/json", true, 400 },
        { "no lines", Order("[]"), "application/json", true, 400 },
        { "101 lines", Order(Lines(101)), "application/json", true, 400 },
        { "10,000 lines", Order(Lines(10_000)), "application/json", true, 413 },
        { "lowercase currency", Order(Lines(1), "\"eur\""), "application/json", true, 400 },
        { "unknown field", """{"customerId":"c","currency":"EUR","paymentToken":"t","lines":[],"discount":100}""", "application/json", true, 400 },
        { "negative price", Order("""[{"sku":"BAD-INPUT-SKU","quantity":1,"unitPrice":-5}]"""), "application/json", true, 400 },
        { "5 MB body", FiveMegabyteOrder, "application/json", true, 413 },
    };

    [Theory]
    [MemberData(nameof(OrderCases))]
    public async Task Bad_orders_get_a_problem_and_write_nothing(string name, string? body, string? contentType, bool sendKey, int expectedStatus)
    {
        await EnsureSkuAsync();
        var before = await _api.WrittenRowsAsync();

        using var response = await _api.PostRawAsync("/orders", body, contentType, sendKey ? $"bad-{Guid.NewGuid()}" : null);

        await AssertProblemAsync(response, expectedStatus, name);
        Assert.Equal(before, await _api.WrittenRowsAsync());
    }

    public static TheoryData<string, string, int> ChunkedCases => new()
    {
        // name, body, expected status
        { "malformed JSON", """{"customerId": "c-1", "lines": [""", 400 },
        { "quantity 0", Order(Lines(1, "0")), 400 },
        { "5 MB body", FiveMegabyteOrder, 413 },
    };

    /// <summary>A body sent in chunks, with no Content-Length, is read and limited like one of known length.</summary>
    [Theory]
    [MemberData(nameof(ChunkedCases))]
    public async Task Bad_orders_sent_in_chunks_get_a_problem_and_write_nothing(string name, string body, int expectedStatus)
    {
        await EnsureSkuAsync();
        var before = await _api.WrittenRowsAsync();

        using var response = await PostChunkedAsync(body, $"bad-chunked-{Guid.NewGuid()}");

        await AssertProblemAsync(response, expectedStatus, $"chunked {name}");
        Assert.Equal(before, await _api.WrittenRowsAsync());
    }

    [Fact]
    public async Task A_good_order_sent_in_chunks_is_accepted()
    {
        await EnsureSkuAsync();

        using var response = await PostChunkedAsync(Order(Lines(2)), $"chunked-{Guid.NewGuid()}");

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.Accepted, $"expected 202, got {(int)response.StatusCode}: {text}");
        Assert.NotEqual(Guid.Empty, JsonDocument.Parse(text).RootElement.GetProperty("orderId").GetGuid());
    }

    private async Task<HttpResponseMessage> PostChunkedAsync(string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return await _api.Http.SendAsync(request);
    }

    [Theory]
    [InlineData("", 400)]
    [InlineData("key with spaces", 400)]
    public async Task Invalid_idempotency_keys_are_refused(string key, int expectedStatus)
    {
        await EnsureSkuAsync();
        var before = await _api.WrittenRowsAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders")
        {
            Content = new StringContent(Order(Lines(1)), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        using var response = await _api.Http.SendAsync(request);

        await AssertProblemAsync(response, expectedStatus, $"key '{key}'");
        Assert.Equal(before, await _api.WrittenRowsAsync());
    }

    [Fact]
    public async Task An_overlong_idempotency_key_is_refused()
    {
        await EnsureSkuAsync();
        var before = await _api.WrittenRowsAsync();

        using var response = await _api.PostRawAsync("/orders", Order(Lines(1)), "application/json", new string('k', 201));

        await AssertProblemAsync(response, 400, "201-character key");
        Assert.Equal(before, await _api.WrittenRowsAsync());
    }

    [Theory]
    [InlineData("/inventory/NEW-SKU/restock", """{"quantity":0}""", 400)]
    [InlineData("/inventory/NEW-SKU/restock", """{"quantity":-3}""", 400)]
    [InlineData("/inventory/NEW-SKU/restock", """{"quantity":1000001}""", 400)]
    [InlineData("/inventory/NEW-SKU/restock", """{"quantity":""", 400)]
    [InlineData("/inventory/bad%20sku/restock", """{"quantity":1}""", 400)]
    public async Task Bad_restocks_get_a_problem_and_write_nothing(string path, string body, int expectedStatus)
    {
        var before = await _api.WrittenRowsAsync();

        using var response = await _api.PostRawAsync(path, body, "application/json", $"bad-{Guid.NewGuid()}");

        await AssertProblemAsync(response, expectedStatus, path + " " + body);
        Assert.Equal(before, await _api.WrittenRowsAsync());
    }

    [Fact]
    public async Task Unknown_routes_and_an_unknown_sku_answer_with_problems()
    {
        using var unknownRoute = await _api.Http.GetAsync("/no-such-thing");
        await AssertProblemAsync(unknownRoute, 404, "unknown route");

        using var unknownSku = await _api.Http.GetAsync("/inventory/NEVER-STOCKED");
        await AssertProblemAsync(unknownSku, 404, "unknown SKU");

        using var notAGuid = await _api.Http.GetAsync("/orders/not-a-guid");
        await AssertProblemAsync(notAGuid, 404, "order id that is not a GUID");
    }

    [Fact]
    public async Task The_openapi_document_describes_the_api()
    {
        var document = JsonDocument.Parse(await _api.Http.GetStringAsync("/openapi/v1.json")).RootElement;

        var paths = document.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/orders", out _));
        Assert.True(paths.TryGetProperty("/orders/{orderId}", out _));
        Assert.True(paths.TryGetProperty("/orders/{orderId}/cancel", out _));
        Assert.True(paths.TryGetProperty("/inventory/{sku}/restock", out _));
        Assert.True(paths.TryGetProperty("/inventory/{sku}", out _));

        // A read that a silo's loss cuts off is a documented 503, next to the 404 of an unknown order.
        var readAnswers = paths.GetProperty("/orders/{orderId}").GetProperty("get").GetProperty("responses");
        Assert.True(readAnswers.TryGetProperty("404", out _) && readAnswers.TryGetProperty("503", out _), readAnswers.ToString());
    }

    private async Task EnsureSkuAsync()
    {
        if (await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"stock-{Sku}") == 0)
        {
            await _api.RestockAsync(Sku, 100);
        }
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, int expectedStatus, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == expectedStatus, $"{what}: expected {expectedStatus}, got {(int)response.StatusCode}: {text}");
        Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{what}: content type {response.Content.Headers.ContentType}: {text}");
        var problem = JsonDocument.Parse(text).RootElement;
        Assert.Equal(expectedStatus, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), $"{what}: the problem has no title");
    }
}
