using System.Net.Http.Headers;
using System.Text.Json;
using OrderPlatform.Commands;
using OrderPlatform.LoadGen.Scheduling;

namespace OrderPlatform.LoadGen.Orders;

/// <summary>
/// One order through the REST API, as a careful client does it: POST /orders under an idempotency key (a 5xx, a
/// 409 or a lost connection is sent again with the same key, to the next target, no sooner than a Retry-After the answer
/// gave, spread by up to half of it again so that refused clients do not come back all at once). With
/// <paramref name="waitInPost"/> the POST says <c>Prefer: wait=N</c> and its 201 brings the finished order: one request.
/// Otherwise, or when the POST is answered 202, GET /orders/{id} with <c>Prefer: wait=N</c> until the saga is Finished.
/// A server that does not honour the preference answers at once; the client then asks again after the poll interval,
/// doubled after each such answer up to eight times the interval, so that hundreds of orders in flight do not turn into
/// thousands of reads a second. A read answered with a 5xx, a 409 or not at all is sent again to the next target after
/// the same wait as a POST's retry. Everything is bounded by the order's deadline: its intended start plus the
/// completion timeout.
/// </summary>
internal sealed class HttpOrderDriver(
    HttpClient http, IReadOnlyList<Uri> targets, OrderMix mix, string runId, TimeSpan completionTimeout, TimeSpan pollInterval, bool waitInPost = true)
    : IOrderDriver
{
    /// <summary>The longest wait the API accepts in <c>Prefer: wait</c>.</summary>
    public const int MaxPreferWaitSeconds = 30;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly MediaTypeHeaderValue Json = new("application/json");

    public async Task<OrderResult> RunAsync(ScheduledOrder order, RunClock clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var deadline = order.IntendedStart + completionTimeout;
        var target = (int)(order.Sequence % targets.Count);
        var key = OrderMix.IdempotencyKey(runId, order.Sequence);
        var body = mix.Body(order.Sequence);
        var retries = 0;
        string? lastFailure = null;

        Guid orderId;
        TimeSpan acceptedAt;
        while (true)
        {
            var remaining = deadline - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return OrderResult.Failed(lastFailure ?? ErrorKinds.Timeout, null, retries);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(targets[target], "orders"));
            request.Content = new ByteArrayContent(body) { Headers = { ContentType = Json } };
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
            var timeout = Min(remaining, RequestTimeout);
            if (waitInPost)
            {
                // The server holds the answer up to the wait; the request may take that long and the usual time besides.
                var wait = WaitSeconds(remaining);
                request.Headers.TryAddWithoutValidation("Prefer", $"wait={wait}");
                timeout = Min(remaining, TimeSpan.FromSeconds(wait) + RequestTimeout);
            }

            var (status, content, _, retryAfter) = await SendForStateAsync(request, timeout, cancellationToken).ConfigureAwait(false);
            if (status is >= 200 and < 300)
            {
                if (ReadOrderId(content) is not { } id)
                {
                    return OrderResult.Failed(ErrorKinds.BadResponse, null, retries);
                }

                orderId = id;
                acceptedAt = clock.Elapsed;
                if (status == 201)
                {
                    // The order as its read shows it, the saga finished.
                    return ReadState(content) is { Finished: true } ended
                        ? OrderResult.Finished(ended.Outcome, acceptedAt, acceptedAt, retries) with { OrderId = orderId, EndedWithPost = true }
                        : OrderResult.Failed(ErrorKinds.BadResponse, acceptedAt, retries);
                }

                break;
            }

            if (status is > 0 and < 500 and not 409 and not 429)
            {
                return OrderResult.Failed(ErrorKinds.Http(status), null, retries);
            }

            // No answer, a 5xx, or 409 (a request with this key still runs): the same key again, on the next target.
            lastFailure = status == 0 ? ErrorKinds.Transport : ErrorKinds.Http(status);
            retries++;
            target = (target + 1) % targets.Count;
            await DelayAsync(RequestRetries.Delay(retries, retryAfter, Random.Shared.NextDouble()), deadline, clock, cancellationToken).ConfigureAwait(false);
        }

        var path = $"orders/{orderId}";
        var poll = pollInterval;
        while (true)
        {
            var remaining = deadline - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                return OrderResult.Failed(ErrorKinds.Timeout, acceptedAt, retries);
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(targets[target], path));
            request.Headers.TryAddWithoutValidation("Prefer", $"wait={WaitSeconds(remaining)}");
            var (status, content, waited, retryAfter) = await SendForStateAsync(request, remaining, cancellationToken).ConfigureAwait(false);
            if (status == 200)
            {
                var state = ReadState(content);
                if (state is null)
                {
                    return OrderResult.Failed(ErrorKinds.BadResponse, acceptedAt, retries);
                }

                if (state.Value.Finished)
                {
                    return OrderResult.Finished(state.Value.Outcome, acceptedAt, clock.Elapsed, retries) with { OrderId = orderId };
                }

                if (!waited)
                {
                    await DelayAsync(poll, deadline, clock, cancellationToken).ConfigureAwait(false);
                    poll = Min(poll * 2, pollInterval * 8);
                }

                continue;
            }

            if (status is > 0 and < 500 and not 409 and not 429)
            {
                return OrderResult.Failed(ErrorKinds.Poll(status), acceptedAt, retries);
            }

            // No answer, a 5xx or 409: read again, on the next target, as the POST is sent again (a silo that lost the
            // saga it waited on answers 503 with Retry-After).
            retries++;
            target = (target + 1) % targets.Count;
            await DelayAsync(RequestRetries.Delay(retries, retryAfter, Random.Shared.NextDouble()), deadline, clock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <returns>
    /// The status (0 when no answer came in time), the body, whether the server honoured <c>Prefer: wait</c>, and the
    /// answer's Retry-After, if it had one.
    /// </returns>
    private async Task<(int Status, byte[] Content, bool Waited, TimeSpan? RetryAfter)> SendForStateAsync(HttpRequestMessage request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(timeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, attempt.Token).ConfigureAwait(false);
            var content = await response.Content.ReadAsByteArrayAsync(attempt.Token).ConfigureAwait(false);
            return ((int)response.StatusCode, content, response.Headers.Contains("Preference-Applied"), RequestRetries.RetryAfter(response));
        }
        catch (HttpRequestException)
        {
            return (0, [], false, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (0, [], false, null);
        }
    }

    private static Guid? ReadOrderId(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            return document.RootElement.TryGetProperty("orderId", out var id) && id.TryGetGuid(out var orderId) ? orderId : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Whether the saga is Finished, and its outcome (the order's status when the saga names none).</summary>
    internal static (bool Finished, string Outcome)? ReadState(byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("saga", out var saga)
                || saga.ValueKind != JsonValueKind.Object
                || !saga.TryGetProperty("phase", out var phase)
                || phase.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var outcome = saga.TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()
                : root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()
                : null;
            return (phase.GetString() == "Finished", outcome ?? "Unknown");
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The wait to prefer with this much of the order's time left: whole seconds, 1 to the API's cap.</summary>
    private static int WaitSeconds(TimeSpan remaining) => (int)Math.Clamp(Math.Ceiling(remaining.TotalSeconds), 1, MaxPreferWaitSeconds);

    private static async Task DelayAsync(TimeSpan delay, TimeSpan deadline, RunClock clock, CancellationToken cancellationToken)
    {
        var wait = Min(delay, deadline - clock.Elapsed);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, clock.Time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
