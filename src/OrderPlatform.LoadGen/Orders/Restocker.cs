using System.Net.Http.Headers;

namespace OrderPlatform.LoadGen.Orders;

/// <summary>
/// Stocks every SKU of the mix before a run (orders for an unknown SKU get 422). Each restock carries an
/// idempotency key of this invocation, so a retry after a 5xx or a lost connection never adds stock twice.
/// </summary>
internal static class Restocker
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    /// <exception cref="InvalidOperationException">A SKU could not be stocked within <paramref name="timeout"/>.</exception>
    public static async Task RestockAsync(HttpClient http, IReadOnlyList<Uri> targets, OrderMix mix, int quantity, string runId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(mix);

        var body = OrderMix.RestockBody(quantity);
        var options = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(mix.AllSkus().Select((sku, i) => (sku, i)), options, async (item, token) =>
        {
            var (sku, index) = item;
            var key = $"loadgen-restock-{runId}-{sku}";
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var last = "";
            for (var attempt = 0; clock.Elapsed < timeout; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 100 * attempt)), token).ConfigureAwait(false);
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(targets[(index + attempt) % targets.Count], $"inventory/{Uri.EscapeDataString(sku)}/restock"));
                request.Content = new ByteArrayContent(body) { Headers = { ContentType = Json } };
                request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
                using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                attemptTimeout.CancelAfter(TimeSpan.FromSeconds(10));
                try
                {
                    using var response = await http.SendAsync(request, attemptTimeout.Token).ConfigureAwait(false);
                    var status = (int)response.StatusCode;
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }

                    last = $"{request.RequestUri} answered {status}: {await response.Content.ReadAsStringAsync(token).ConfigureAwait(false)}";
                    if (status is < 500 and not 409 and not 429)
                    {
                        break;
                    }
                }
                catch (HttpRequestException e)
                {
                    last = $"{request.RequestUri}: {e.Message}";
                }
                catch (OperationCanceledException) when (!token.IsCancellationRequested)
                {
                    last = $"{request.RequestUri}: no answer within 10 s";
                }
            }

            throw new InvalidOperationException($"Could not stock {sku}: {last}");
        }).ConfigureAwait(false);
    }
}
