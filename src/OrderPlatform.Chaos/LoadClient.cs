using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OrderPlatform.Commands;

namespace OrderPlatform.Chaos;

/// <summary>
/// Drives orders at a constant arrival rate (open loop) through the HTTP APIs of the live silos. A request that
/// loses its connection or gets a 5xx or 409 is retried with the same Idempotency-Key on another silo, as a careful
/// client would: after the load generator's backoff, or the answer's Retry-After when that is longer
/// (<see cref="RequestRetries"/>). The platform must turn all those attempts into one order.
/// </summary>
public sealed class LoadClient(IReadOnlyList<Uri> silos, Func<int, bool> isLive, string[] skus, Random random) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(15) };
    private long _sent;
    private long _retries;
    private long _failed;

    public ConcurrentDictionary<Guid, DateTimeOffset> Accepted { get; } = new();

    /// <summary>
    /// The answers that sent a request again, by status code ("connection" for a lost or refused connection): a 503 or
    /// a 409 is the platform asking for the retry; a 500 is a fault it did not expect.
    /// </summary>
    public ConcurrentDictionary<string, long> RetriedAnswers { get; } = new();

    public long Sent => Interlocked.Read(ref _sent);

    public long ClientRetries => Interlocked.Read(ref _retries);

    public long Failed => Interlocked.Read(ref _failed);

    public void Dispose() => _http.Dispose();

    /// <summary>Plenty of every SKU but the first, which runs out early so that out-of-stock rejections keep happening.</summary>
    public async Task RestockAsync(int quantity, int scarceQuantity)
    {
        for (var i = 0; i < skus.Length; i++)
        {
            await SendAsync($"/inventory/{skus[i]}/restock", new { quantity = i == 0 ? scarceQuantity : quantity }, $"chaos-restock-{skus[i]}", CancellationToken.None);
        }
    }

    public async Task RunAsync(double rate, TimeSpan duration, int? maxOrders, CancellationToken cancellationToken)
    {
        var interval = TimeSpan.FromSeconds(1 / rate);
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>();
        for (var n = 0; clock.Elapsed < duration && (maxOrders is null || n < maxOrders) && !cancellationToken.IsCancellationRequested; n++)
        {
            var due = interval * n;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }

            inFlight.Add(PlaceOneAsync(n, cancellationToken));
            inFlight.RemoveAll(t => t.IsCompleted);
        }

        await Task.WhenAll(inFlight);
    }

    private async Task PlaceOneAsync(int n, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _sent);
        int roll;
        string sku, token;
        lock (random)
        {
            roll = random.Next(100);
            sku = skus[random.Next(skus.Length)];
        }

        // Mostly approvals, some declines and flaky payments, and the occasional order for more than is left.
        token = roll switch { < 80 => "tok_approve", < 88 => "tok_decline", < 95 => "tok_fail_2", _ => "tok_timeout" };
        var quantity = roll % 17 == 0 ? 50 : 1 + (roll % 3);
        var body = new
        {
            customerId = $"chaos-{n % 50}",
            currency = "EUR",
            paymentToken = token,
            lines = new[] { new { sku, quantity, unitPrice = 5.25m } },
        };
        var response = await SendAsync("/orders", body, $"chaos-order-{n}-{Guid.NewGuid():N}", cancellationToken);
        if (response?.TryGetProperty("orderId", out var id) == true)
        {
            Accepted[id.GetGuid()] = DateTimeOffset.UtcNow;
        }
    }

    /// <summary>POSTs until a non-5xx answer, moving to another live silo after each failure; null when it gives up.</summary>
    private async Task<JsonElement?> SendAsync(string path, object body, string key, CancellationToken cancellationToken)
    {
        var giveUp = Stopwatch.StartNew();
        TimeSpan? retryAfter = null;
        for (var attempt = 0; giveUp.Elapsed < TimeSpan.FromSeconds(120); attempt++)
        {
            if (attempt > 0)
            {
                Interlocked.Increment(ref _retries);
                await Task.Delay(RequestRetries.Delay(attempt, retryAfter, Random.Shared.NextDouble()), CancellationToken.None);
                retryAfter = null;
            }

            var silo = PickSilo(attempt);
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(silos[silo], path)) { Content = JsonContent.Create(body) };
                request.Headers.Add("Idempotency-Key", key);
                using var response = await _http.SendAsync(request, CancellationToken.None);
                if ((int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests)
                {
                    // A full silo (503) says when to come back; so may a key still in use (409) or one that failed (503).
                    retryAfter = RequestRetries.RetryAfter(response);
                    RetriedAnswers.AddOrUpdate(((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture), 1, (_, n) => n + 1);
                    continue;
                }

                var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                if (!response.IsSuccessStatusCode)
                {
                    await Console.Error.WriteLineAsync($"{path} answered {(int)response.StatusCode}: {text}");
                    Interlocked.Increment(ref _failed);
                    return null;
                }

                return JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Connection refused or cut: the silo died under us. Retry elsewhere with the same key.
                RetriedAnswers.AddOrUpdate("connection", 1, (_, n) => n + 1);
            }
        }

        Interlocked.Increment(ref _failed);
        return null;
    }

    private int PickSilo(int attempt)
    {
        var live = Enumerable.Range(0, silos.Count).Where(isLive).ToList();
        if (live.Count == 0)
        {
            return attempt % silos.Count;
        }

        lock (random)
        {
            return live[random.Next(live.Count)];
        }
    }
}
