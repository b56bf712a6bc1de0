using System.Diagnostics;
using System.Text.Json;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Idempotency;
using OrderPlatform.Grains;
using OrderPlatform.Grains.EventSourcing;

namespace OrderPlatform.Host.Api;

public sealed record OrderAccepted(Guid OrderId, string Status, string Location);

public sealed record MoneyView(decimal Amount, string Currency);

public sealed record OrderDetails(
    Guid OrderId,
    string Status,
    string? CustomerId,
    IReadOnlyList<OrderLineData> Lines,
    MoneyView? Total,
    string? Reason,
    PaymentView? Payment,
    SagaView Saga);

public static class OrdersApi
{
    private const int MaxOrderBodyBytes = 64 * 1024;
    private const int MaxCancelBodyBytes = 4 * 1024;

    /// <summary>The longest a <c>Prefer: wait</c> read holds its response, in seconds.</summary>
    public const int MaxWaitSeconds = 30;

    public static RouteGroupBuilder MapOrdersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/orders").WithTags("Orders");

        group.MapPost("/", PlaceOrderAsync)
            .WithSummary("Place an order; its saga runs in the background. With `Prefer: wait=N` (RFC 7240, N seconds, at most 30) "
                + "the answer waits until the saga has finished or N seconds passed: 201 with the order as GET shows it when it finished, "
                + "else 202.")
            .Accepts<PlaceOrderBody>("application/json")
            .Produces<OrderAccepted>(StatusCodes.Status202Accepted)
            .Produces<OrderDetails>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/{orderId:guid}", GetOrderAsync)
            .WithSummary("Status, lines, total, payment and the saga's steps of one order. With `Prefer: wait=N` (RFC 7240, "
                + "N seconds, at most 30) the answer waits until the saga has finished or N seconds passed.")
            .Produces<OrderDetails>()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapPost("/{orderId:guid}/cancel", CancelOrderAsync)
            .WithSummary("Ask to cancel an order; what was done is compensated.")
            .Accepts<CancelOrderBody>("application/json")
            .Produces<OrderAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        return group;
    }

    /// <summary>
    /// A silo with as many orders under way as it takes (<see cref="OrderAdmission"/>) refuses the order before it reads
    /// the request: 503 with Retry-After, nothing written, the key left free for the retry. An accepted order (a first
    /// request or a replay of its key) whose request prefers to wait is answered when its saga has finished, as its read
    /// would be, with 201; or, the wait over first, with the 202 as without the preference. Nothing else waits: a refusal
    /// or a problem is answered at once.
    /// </summary>
    private static async Task<IResult> PlaceOrderAsync(
        HttpContext http, OrderAdmission admission, IdempotentRequests requests, PostgresEventStore store, IGrainFactory grains, ILoggerFactory loggers)
    {
        if (!admission.TryEnter(out var retryAfterSeconds))
        {
            http.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Overloaded(admission.Limit);
        }

        Guid? orderId = null;
        IResult placed;
        try
        {
            placed = await PlaceAdmittedOrderAsync(http, requests, store, grains, id => orderId = id);
        }
        finally
        {
            // The wait is not admission's: the saga, once started, counts among the silo's running sagas until it ends.
            admission.Leave();
        }

        var wait = PreferredWait(http.Request.Headers["Prefer"]);
        if (wait is null || orderId is not { } accepted
            || placed is not IdempotentRequests.StoredResult { Response: { StatusCode: StatusCodes.Status202Accepted, Location: { } location } })
        {
            return placed;
        }

        OrderDetails? finished;
        try
        {
            finished = await ReadOrderAsync(grains, accepted, wait);
        }
        catch (Exception e) when (TransientFailures.IsTransient(e))
        {
            // The order was taken; only the wait for its end failed. Answer as without the preference: its 202 and Location.
            loggers.CreateLogger(typeof(OrdersApi).FullName!).LogWarning(e, "Waiting for order {OrderId} failed; answering its 202.", accepted);
            return placed;
        }

        http.Response.Headers["Preference-Applied"] = $"wait={wait}";
        return finished is { Saga.Phase: nameof(SagaPhase.Finished) } details
            ? TypedResults.Created(location, details)
            : placed;
    }

    private static Task<IResult> PlaceAdmittedOrderAsync(
        HttpContext http, IdempotentRequests requests, PostgresEventStore store, IGrainFactory grains, Action<Guid> identified) =>
        requests.HandleAsync(http, MaxOrderBodyBytes, bodyRequired: true, async (raw, cancellationToken) =>
        {
            var (body, problem) = OrderRequests.Parse<PlaceOrderBody>(raw);
            if (problem is not null)
            {
                return PreparedRequest.Reject(problem);
            }

            var errors = OrderRequests.Validate(body!);
            if (errors.Count > 0)
            {
                return PreparedRequest.Reject(Problems.Validation("One or more fields are invalid.", errors));
            }

            var skus = body!.Lines!.Select(l => l.Sku!).Distinct(StringComparer.Ordinal).ToList();
            var known = await store.ExistingStreamsAsync([.. skus.Select(StreamIds.Stock)], cancellationToken);
            var unknown = skus.Where(s => !known.Contains(StreamIds.Stock(s))).ToList();
            if (unknown.Count > 0)
            {
                return PreparedRequest.Reject(Problems.UnknownSkus(unknown));
            }

            var orderId = OrderIds.For(http.Request.Headers[IdempotentRequests.HeaderName].ToString(), raw.Span);
            identified(orderId);
            var request = new CheckoutRequest(
                orderId,
                body.CustomerId!,
                [.. body.Lines!.Select(l => new OrderLineData(l.Sku!, (int)l.Quantity!.Value, l.UnitPrice!.Value))],
                body.Currency!,
                body.PaymentToken!,
                Activity.Current?.TraceId.ToString() ?? http.TraceIdentifier);

            var location = $"/orders/{orderId}";
            var response = new StoredResponse(
                StatusCodes.Status202Accepted,
                "application/json",
                location,
                JsonSerializer.Serialize(new OrderAccepted(orderId, "Accepted", location), OrderRequests.Json));

            // The order id is new unless this key and body came before (a retry after a failure, or a key reused after its
            // retention): the saga's activation skips reading its stream, and finds it if it was wrong. The saga's start and
            // the stored response commit together; a saga that had started already stores nothing.
            Task<SagaStartReply> StartAsync(ResponseToStore toStore) =>
                NewStreams.Creating(StreamIds.Saga(orderId), () => grains.Get<IOrderSagaGrain>(orderId).StartAsync(request, toStore));
            ResponseToStore ToStore(string key) => new(key, response.StatusCode, response.ContentType, response.Location, response.Body);

            // First the start claims the key itself, in its own transaction: a new order commits once. A key in use, or a
            // saga that had started (a replay), writes nothing there, and the request goes the usual way.
            return PreparedRequest.RunClaiming(
                async (claim, _) =>
                {
                    var started = await StartAsync(ToStore(claim.Key) with { RequestHash = claim.RequestHash, ExpiresAt = claim.ExpiresAt });
                    return started.ResponseStored ? new ExecutedRequest(response, Stored: true) : null;
                },
                async (key, _) => new ExecutedRequest(response, (await StartAsync(ToStore(key))).ResponseStored));
        });

    /// <summary>The order, or 404; a read that a silo's loss cuts off is answered 503 with Retry-After (<see cref="TransientFailures"/>).</summary>
    private static async Task<IResult> GetOrderAsync(Guid orderId, HttpContext http, IGrainFactory grains)
    {
        var wait = PreferredWait(http.Request.Headers["Prefer"]);
        if (wait is not null)
        {
            http.Response.Headers["Preference-Applied"] = $"wait={wait}";
        }

        return await ReadOrderAsync(grains, orderId, wait) is { } details
            ? TypedResults.Ok(details)
            : Problems.NotFound($"There is no order {orderId}.");
    }

    /// <summary>The order as its read shows it, after waiting up to <paramref name="wait"/> seconds for its saga to finish; null when there is no such order.</summary>
    private static async Task<OrderDetails?> ReadOrderAsync(IGrainFactory grains, Guid orderId, int? wait)
    {
        // The saga answers for a finished order whose stream it wrote itself; otherwise the order's grain does.
        var reading = grains.Get<IOrderSagaGrain>(orderId).ReadAsync(TimeSpan.FromSeconds(wait ?? 0));
        if (wait is not null)
        {
            await reading;
        }

        var payment = grains.Get<IPaymentGrain>(orderId).GetAsync();
        var order = (await reading)?.Order is { } told ? Task.FromResult<OrderView?>(told) : grains.Get<IOrderGrain>(orderId).GetAsync();
        await Task.WhenAll(order, payment);
        if (reading.Result?.Saga is not { } sagaView)
        {
            return null;
        }

        var orderView = order.Result;
        return new OrderDetails(
            orderId,
            orderView?.Status ?? "Accepted",
            orderView?.CustomerId,
            orderView?.Lines ?? [],
            orderView is null ? null : new MoneyView(orderView.Total, orderView.Currency),
            orderView?.Reason ?? sagaView.Reason,
            payment.Result,
            sagaView);
    }

    /// <summary>
    /// The <c>wait</c> preference of a Prefer header, capped at <see cref="MaxWaitSeconds"/>. As RFC 7240 asks, a
    /// preference the server cannot read (not a whole number of seconds) is ignored rather than refused.
    /// </summary>
    public static int? PreferredWait(Microsoft.Extensions.Primitives.StringValues prefer)
    {
        foreach (var header in prefer)
        {
            foreach (var preference in (header ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var token = preference.Split(';', 2)[0].Trim();
                var parts = token.Split('=', 2, StringSplitOptions.TrimEntries);
                if (parts.Length == 2 && parts[0].Equals("wait", StringComparison.OrdinalIgnoreCase)
                    && int.TryParse(parts[1].Trim('"'), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds))
                {
                    return Math.Min(seconds, MaxWaitSeconds);
                }
            }
        }

        return null;
    }

    private static Task<IResult> CancelOrderAsync(Guid orderId, HttpContext http, IdempotentRequests requests, IGrainFactory grains) =>
        requests.HandleAsync(http, MaxCancelBodyBytes, bodyRequired: false, async (raw, _) =>
        {
            var reason = "Cancelled by the customer.";
            if (raw.Length > 0)
            {
                var (body, problem) = OrderRequests.Parse<CancelOrderBody>(raw);
                if (problem is not null)
                {
                    return PreparedRequest.Reject(problem);
                }

                if (body!.Reason is { } given)
                {
                    if (given.Length is 0 or > OrderRequests.MaxTextLength)
                    {
                        return PreparedRequest.Reject(Problems.Validation($"reason: at most {OrderRequests.MaxTextLength} characters."));
                    }

                    reason = given;
                }
            }

            var saga = grains.Get<IOrderSagaGrain>(orderId);
            if (await saga.GetAsync() is null)
            {
                return PreparedRequest.Reject(Problems.NotFound($"There is no order {orderId}."));
            }

            return PreparedRequest.Run(async _ =>
            {
                var reply = await saga.RequestCancellationAsync(reason);
                var location = $"/orders/{orderId}";
                return reply.Status == ReplyStatus.Done
                    ? new StoredResponse(StatusCodes.Status202Accepted, "application/json", location,
                        JsonSerializer.Serialize(new OrderAccepted(orderId, "CancellationRequested", location), OrderRequests.Json))
                    : new StoredResponse(StatusCodes.Status409Conflict, "application/problem+json", null,
                        JsonSerializer.Serialize(new
                        {
                            type = "https://order-platform.example/problems/conflict",
                            title = "Not possible in the current state.",
                            status = StatusCodes.Status409Conflict,
                            detail = reply.Detail,
                        }, OrderRequests.Json));
            });
        });
}
