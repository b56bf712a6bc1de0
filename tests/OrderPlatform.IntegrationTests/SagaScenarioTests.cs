using System.Globalization;
using System.Net;
using System.Text.Json;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>The saga's paths end to end: HTTP into a real silo process, events in a real PostgreSQL.</summary>
public sealed class SagaScenarioTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private readonly Platform _api = fixture.Api;

    private static string NewSku(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private Task<long> ProviderOperationsAsync(Guid orderId, string operation) =>
        _api.ScalarAsync<long>(
            "select count(*) from psp_simulator.operations where idempotency_key like $1 and operation = $2 and outcome = 'approved'",
            $"{orderId:N}:%", operation);

    private static string[] StepNames(JsonElement order) =>
        [.. order.GetProperty("saga").GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()!)];

    private static JsonElement Step(JsonElement order, string name) =>
        order.GetProperty("saga").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == name);

    [Fact]
    public async Task Happy_path_completes_captures_once_and_sells_the_stock()
    {
        var sku = NewSku("happy");
        await _api.RestockAsync(sku, 10);

        var orderId = await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 3, 12.50m));
        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(37.50m, order.GetProperty("total").GetProperty("amount").GetDecimal());
        Assert.Equal("Captured", order.GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(37.50m, order.GetProperty("payment").GetProperty("netCharged").GetDecimal());
        Assert.Equal(
            ["PlaceOrder", $"ReserveStock:{sku}", "AuthorizePayment", "ConfirmOrder", "CapturePayment", $"CommitStock:{sku}", "CompleteOrder"],
            StepNames(order));
        Assert.All(order.GetProperty("saga").GetProperty("steps").EnumerateArray(), s => Assert.Equal("Succeeded", s.GetProperty("status").GetString()));

        // Placing and reserving do not depend on each other: one record starts both (the saga's start, which placed the order).
        Assert.Equal(Step(order, "PlaceOrder").GetProperty("startedAt").GetDateTimeOffset(), Step(order, $"ReserveStock:{sku}").GetProperty("startedAt").GetDateTimeOffset());
        Assert.True(Step(order, "AuthorizePayment").GetProperty("startedAt").GetDateTimeOffset() >= Step(order, $"ReserveStock:{sku}").GetProperty("finishedAt").GetDateTimeOffset());

        var stock = await _api.GetStockAsync(sku);
        Assert.Equal((10, 7, 0, 3), (stock.GetProperty("onHand").GetInt32(), stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "capture"));
        Assert.Equal(
            "order.placed,order.confirmed,order.completed",
            await _api.ScalarAsync<string>("select string_agg(event_type, ',' order by version) from events where stream_id = $1", $"order-{orderId:N}"));

        // The SKU's events carry the order's deadline for reserving (the saga's), which bounds how long the SKU remembers it.
        var deadline = order.GetProperty("saga").GetProperty("deadline").GetDateTimeOffset();
        var stockEvents = (await _api.ScalarAsync<string>(
            "select string_agg(event_type || ' ' || (data->>'reserveBy') || ' ' || coalesce(data->>'at', '-'), ',' order by version) from events where stream_id = $1 and data->>'orderId' = $2",
            $"stock-{sku}", orderId.ToString())).Split(',').Select(e => e.Split(' ')).ToList();
        Assert.Equal(["stock.reserved", "stock.committed"], stockEvents.Select(e => e[0]));
        Assert.All(stockEvents, e => Assert.Equal(deadline, DateTimeOffset.Parse(e[1], CultureInfo.InvariantCulture)));
        // Decided by the SKU after the step started (the step's recorded finish is the saga's, offered before the call).
        Assert.InRange(
            DateTimeOffset.Parse(stockEvents[0][2], CultureInfo.InvariantCulture),
            Step(order, $"ReserveStock:{sku}").GetProperty("startedAt").GetDateTimeOffset(),
            order.GetProperty("saga").GetProperty("finishedAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task The_saga_index_is_written_at_the_start_at_each_planned_retry_and_at_the_finish_not_at_every_step()
    {
        // Every write to the sagas table, as a row of its own (the trigger stays for the fixture's later tests: it only counts).
        await _api.ScalarAsync<int>(
            """
            create table if not exists saga_index_writes (order_id uuid not null, finished boolean not null, wake_at timestamptz, at timestamptz not null default clock_timestamp());
            create or replace function log_saga_index_write() returns trigger language plpgsql as $$
            begin
                insert into saga_index_writes (order_id, finished, wake_at) values (new.order_id, new.finished, new.wake_at);
                return null;
            end $$;
            drop trigger if exists log_saga_index_write on sagas;
            create trigger log_saga_index_write after insert or update on sagas for each row execute function log_saga_index_write();
            select 1;
            """);
        var sku = NewSku("index");
        await _api.RestockAsync(sku, 10);

        var happy = await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1));
        var retried = await _api.PlaceOrderAsync("tok_fail_2", Platform.Line(sku, 1));
        Assert.Equal("Completed", (await _api.WaitUntilFinishedAsync(happy)).GetProperty("status").GetString());
        Assert.Equal("Completed", (await _api.WaitUntilFinishedAsync(retried)).GetProperty("status").GetString());

        async Task<string> WritesAsync(Guid orderId) => await _api.ScalarAsync<string>(
            "select string_agg(case when finished then 'finished' when wake_at is not null then 'waits' else 'runs' end, ',' order by at) from saga_index_writes where order_id = $1",
            orderId);

        // Six appends each time, but the recovery scan only needs to hear of the start, the waits and the finish.
        Assert.Equal("runs,finished", await WritesAsync(happy));
        Assert.Equal("runs,waits,runs,waits,runs,finished", await WritesAsync(retried));
    }

    [Fact]
    public async Task Out_of_stock_rejects_the_order_and_leaves_nothing_reserved()
    {
        var plenty = NewSku("plenty");
        var scarce = NewSku("scarce");
        await _api.RestockAsync(plenty, 10);
        await _api.RestockAsync(scarce, 2);

        var orderId = await _api.PlaceOrderAsync("tok_approve", Platform.Line(plenty, 4), Platform.Line(scarce, 3));
        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Rejected", order.GetProperty("status").GetString());
        Assert.Contains($"Out of stock for {scarce}", order.GetProperty("reason").GetString(), StringComparison.Ordinal);
        foreach (var (sku, onHand) in new[] { (plenty, 10), (scarce, 2) })
        {
            var stock = await _api.GetStockAsync(sku);
            Assert.Equal(onHand, stock.GetProperty("available").GetInt32());
            Assert.Equal(0, stock.GetProperty("reserved").GetInt32());
        }

        Assert.Contains($"ReleaseStock:{plenty}", StepNames(order));
        Assert.Equal(0, await ProviderOperationsAsync(orderId, "authorize"));
    }

    [Fact]
    public async Task Declined_payment_cancels_the_order_releases_stock_and_captures_nothing()
    {
        var sku = NewSku("declined");
        await _api.RestockAsync(sku, 5);

        var orderId = await _api.PlaceOrderAsync("tok_decline", Platform.Line(sku, 2));
        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Cancelled", order.GetProperty("status").GetString());
        Assert.StartsWith("Payment declined", order.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("Declined", order.GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(0m, order.GetProperty("payment").GetProperty("netCharged").GetDecimal());
        Assert.Equal(5, (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());
        Assert.Equal(0, await ProviderOperationsAsync(orderId, "capture"));
    }

    [Fact]
    public async Task Cancel_after_authorization_voids_the_payment_and_releases_stock()
    {
        var sku = NewSku("cancel");
        await _api.RestockAsync(sku, 5);

        // The simulated provider takes 1.5 s to authorize: the cancellation arrives while it is in flight.
        var orderId = await _api.PlaceOrderAsync("tok_slow_1500", Platform.Line(sku, 2));
        await _api.WaitForAsync(orderId, o => StepNames(o).Contains("AuthorizePayment"), "the AuthorizePayment step to start");
        using (var cancel = await _api.PostJsonAsync($"/orders/{orderId}/cancel", new { reason = "Changed my mind." }, $"cancel-{orderId}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Cancelled", order.GetProperty("status").GetString());
        Assert.Equal("Changed my mind.", order.GetProperty("reason").GetString());
        Assert.Equal("Succeeded", Step(order, "AuthorizePayment").GetProperty("status").GetString());
        Assert.Equal("Voided", order.GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "authorize"));
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "void"));
        Assert.Equal(0, await ProviderOperationsAsync(orderId, "capture"));
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal((5, 0), (stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32()));
        Assert.DoesNotContain("ConfirmOrder", StepNames(order));
    }

    [Fact]
    public async Task Transient_provider_failures_are_retried_and_the_customer_is_charged_once()
    {
        var sku = NewSku("transient");
        await _api.RestockAsync(sku, 5);

        var orderId = await _api.PlaceOrderAsync("tok_fail_3", Platform.Line(sku, 1, 20m));
        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal(4, Step(order, "AuthorizePayment").GetProperty("attempts").GetInt32());
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "authorize"));
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "capture"));
        Assert.Equal(20m, order.GetProperty("payment").GetProperty("netCharged").GetDecimal());
    }

    [Fact]
    public async Task A_lost_provider_answer_is_looked_up_by_key_and_not_charged_twice()
    {
        var sku = NewSku("timeout");
        await _api.RestockAsync(sku, 5);

        var orderId = await _api.PlaceOrderAsync("tok_timeout", Platform.Line(sku, 1));
        var order = await _api.WaitUntilFinishedAsync(orderId);

        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.True(Step(order, "AuthorizePayment").GetProperty("attempts").GetInt32() >= 2, "the first attempt's answer was lost, so a second attempt was needed");
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "authorize"));
        Assert.Equal(1, await ProviderOperationsAsync(orderId, "capture"));
    }

    [Fact]
    public async Task Cancelling_a_completed_order_is_a_conflict_and_an_unknown_order_is_not_found()
    {
        var sku = NewSku("late-cancel");
        await _api.RestockAsync(sku, 5);
        var orderId = await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1));
        await _api.WaitUntilFinishedAsync(orderId);

        using var late = await _api.PostJsonAsync($"/orders/{orderId}/cancel", new { }, $"cancel-{orderId}");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        Assert.Equal("application/problem+json", late.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Completed", (await _api.GetOrderAsync(orderId)).GetProperty("status").GetString());

        using var unknown = await _api.PostJsonAsync($"/orders/{Guid.NewGuid()}/cancel", new { }, $"cancel-{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var missing = await _api.Http.GetAsync($"/orders/{Guid.NewGuid()}");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Prefer_wait_answers_when_the_saga_finishes_or_the_wait_is_over()
    {
        var sku = NewSku("prefer-wait");
        await _api.RestockAsync(sku, 10);

        // Authorization takes 4 s: a one-second wait ends well before the saga does (also on a busy machine, where the
        // POST itself may take a while), a long wait sees it finish.
        var orderId = await _api.PlaceOrderAsync("tok_slow_4000", Platform.Line(sku, 1));
        var (early, earlyApplied, _) = await _api.GetPreferringAsync(orderId, "wait=1");
        Assert.Equal("wait=1", earlyApplied);
        Assert.NotEqual("Finished", early.GetProperty("saga").GetProperty("phase").GetString());

        var (done, applied, status) = await _api.GetPreferringAsync(orderId, "respond-async, wait=20");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("wait=20", applied);
        Assert.Equal("Finished", done.GetProperty("saga").GetProperty("phase").GetString());
        Assert.Equal("Completed", done.GetProperty("status").GetString());

        // A finished saga answers at once; a wait above the cap is honoured as the cap.
        var (_, capped, _) = await _api.GetPreferringAsync(orderId, "wait=3600");
        Assert.Equal("wait=30", capped);
    }

    [Fact]
    public async Task A_post_that_prefers_to_wait_is_answered_with_the_finished_order()
    {
        var sku = NewSku("post-wait");
        await _api.RestockAsync(sku, 10);

        // A happy order: 201 with the order as its read shows it, once its saga has finished.
        var body = Platform.OrderBody("tok_approve", Platform.Line(sku, 2));
        var key = $"order-{Guid.NewGuid()}";
        var (status, order, applied, location, replayed) = await _api.PostPreferringAsync(body, key, "wait=20");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("wait=20", applied);
        Assert.False(replayed);
        Assert.Equal("Completed", order.GetProperty("status").GetString());
        Assert.Equal("Finished", order.GetProperty("saga").GetProperty("phase").GetString());
        Assert.Equal("Captured", order.GetProperty("payment").GetProperty("status").GetString());
        var orderId = order.GetProperty("orderId").GetGuid();
        Assert.Equal($"/orders/{orderId}", location);
        Assert.Equal((await _api.GetOrderAsync(orderId)).GetRawText(), order.GetRawText());

        // The same request again: with the preference the finished order once more, without it the stored 202.
        var again = await _api.PostPreferringAsync(body, key, "wait=20");
        Assert.Equal((HttpStatusCode.Created, true), (again.Status, again.Replayed));
        Assert.Equal(order.GetRawText(), again.Body.GetRawText());
        var plain = await _api.PostPreferringAsync(body, key, null);
        Assert.Equal((HttpStatusCode.Accepted, true, null), (plain.Status, plain.Replayed, plain.Applied));
        Assert.Equal("Accepted", plain.Body.GetProperty("status").GetString());
        Assert.Equal(8, (await _api.GetStockAsync(sku)).GetProperty("available").GetInt32());

        // A declined card: the order's end is cancelled, answered the same way.
        var (declinedStatus, declined, _, _, _) = await _api.PostPreferringAsync(
            Platform.OrderBody("tok_decline", Platform.Line(sku, 1)), $"order-{Guid.NewGuid()}", "wait=20");
        Assert.Equal(HttpStatusCode.Created, declinedStatus);
        Assert.Equal("Cancelled", declined.GetProperty("status").GetString());

        // A saga that has not finished when the wait is over: the 202, which says the wait was applied.
        var (slowStatus, slow, slowApplied, slowLocation, _) = await _api.PostPreferringAsync(
            Platform.OrderBody("tok_slow_4000", Platform.Line(sku, 1)), $"order-{Guid.NewGuid()}", "wait=1");
        Assert.Equal((HttpStatusCode.Accepted, "wait=1"), (slowStatus, slowApplied));
        Assert.Equal("Accepted", slow.GetProperty("status").GetString());
        Assert.Equal("Completed", (await _api.FinishedReadAsync(slow.GetProperty("orderId").GetGuid())).GetProperty("status").GetString());
        Assert.Equal($"/orders/{slow.GetProperty("orderId").GetGuid()}", slowLocation);
    }

    [Fact]
    public async Task A_post_that_prefers_to_wait_is_refused_at_once_when_its_request_is_bad_or_its_wait_unreadable()
    {
        var sku = NewSku("post-wait-bad");
        await _api.RestockAsync(sku, 10);
        var sagasBefore = await _api.CountAsync("sagas");

        // An unknown SKU and a line without a quantity: the problem at once, no wait applied, nothing written.
        var unknown = await _api.PostPreferringAsync(Platform.OrderBody("tok_approve", Platform.Line(NewSku("nowhere"), 1)), $"order-{Guid.NewGuid()}", "wait=20");
        Assert.Equal((HttpStatusCode.UnprocessableEntity, null), (unknown.Status, unknown.Applied));
        var invalid = await _api.PostPreferringAsync(Platform.OrderBody("tok_approve", new { sku }), $"order-{Guid.NewGuid()}", "wait=20");
        Assert.Equal((HttpStatusCode.BadRequest, null), (invalid.Status, invalid.Applied));
        Assert.Equal(sagasBefore, await _api.CountAsync("sagas"));

        // A wait the server cannot read is ignored (RFC 7240): the 202 at once.
        var (status, accepted, applied, _, _) = await _api.PostPreferringAsync(
            Platform.OrderBody("tok_slow_5000", Platform.Line(sku, 1)), $"order-{Guid.NewGuid()}", "wait=soon");
        Assert.Equal((HttpStatusCode.Accepted, null), (status, applied));
        Assert.Equal("Accepted", accepted.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("wait=soon")]
    [InlineData("wait=-1")]
    [InlineData("wait")]
    [InlineData("handling=strict")]
    public async Task A_prefer_header_without_a_readable_wait_is_ignored(string prefer)
    {
        var sku = NewSku("prefer-bad");
        await _api.RestockAsync(sku, 10);
        var orderId = await _api.PlaceOrderAsync("tok_slow_5000", Platform.Line(sku, 1));

        // RFC 7240: a preference the server cannot read is ignored, so the answer comes at once and says nothing was applied.
        var (order, applied, status) = await _api.GetPreferringAsync(orderId, prefer);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Null(applied);
        Assert.NotEqual("Finished", order.GetProperty("saga").GetProperty("phase").GetString());

        var (_, _, missing) = await _api.GetPreferringAsync(Guid.NewGuid(), "wait=5");
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }

    [Fact]
    public async Task Silo_status_counters_run_forward_between_two_samples()
    {
        var first = JsonDocument.Parse(await _api.Http.GetStringAsync("/silo/status")).RootElement;
        var sku = NewSku("counters");
        await _api.RestockAsync(sku, 5);
        await _api.WaitUntilFinishedAsync(await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1)));
        var second = JsonDocument.Parse(await _api.Http.GetStringAsync("/silo/status")).RootElement;

        // An order in between costs CPU and thread-pool work items; counters since start never go back.
        Assert.True(second.GetProperty("cpuSeconds").GetDouble() > first.GetProperty("cpuSeconds").GetDouble());
        Assert.True(second.GetProperty("threadPool").GetProperty("completed").GetInt64() > first.GetProperty("threadPool").GetProperty("completed").GetInt64());
        Assert.True(second.GetProperty("threadPool").GetProperty("threads").GetInt32() > 0);
        Assert.True(second.GetProperty("gcAllocatedBytes").GetInt64() > first.GetProperty("gcAllocatedBytes").GetInt64());
        foreach (var counter in new[] { "gcPauseSeconds", "lockContentions", "gen0Collections", "gen1Collections", "gen2Collections" })
        {
            Assert.True(second.GetProperty(counter).GetDouble() >= first.GetProperty(counter).GetDouble(), counter);
        }

        // The restock and the happy order append 6 times (saga 1, stock 2, payment 2, restock 1: the order's first event
        // rides on the saga's start, its confirmation and completion on the authorization's and the stock commit's
        // appends, and the saga's other records on the participants' appends, CarriedRecordTests) and read at least the new SKU's stream on activation (NewStreamTests tells which of a new
        // order's own streams are read); statements never outnumber what they carried.
        long Delta(string counter) => second.GetProperty("eventStore").GetProperty(counter).GetInt64() - first.GetProperty("eventStore").GetProperty(counter).GetInt64();
        Assert.True(Delta("appends") >= 6, $"{Delta("appends")} appends");
        Assert.True(Delta("reads") >= 1, $"{Delta("reads")} reads");
        Assert.InRange(Delta("appendStatements"), 1, Delta("appends"));
        Assert.InRange(Delta("readStatements"), 1, Delta("reads"));
        long Responses(JsonElement sample, string counter) => sample.GetProperty("idempotency").GetProperty(counter).GetInt64();
        Assert.True(Responses(second, "completions") - Responses(first, "completions") >= 1, "the restock's response (the order's rides with its saga's start)");
        Assert.True(Responses(second, "completionStatements") > Responses(first, "completionStatements"));
        long Claims(string counter) => Responses(second, counter) - Responses(first, counter);
        Assert.True(Claims("claims") >= 1, $"{Claims("claims")} claims (the restock's key; the order's is claimed by its saga's start)");
        Assert.InRange(Claims("claimStatements"), 1, Claims("claims"));

        // The simulated provider recorded the order's authorization and capture, and the capture looked its authorization
        // up, each through its grouping: counted by request and by statement.
        long Provider(string timings, string counter) =>
            second.GetProperty(timings).GetProperty(counter).GetInt64() - first.GetProperty(timings).GetProperty(counter).GetInt64();
        Assert.Equal("postgres", second.GetProperty("providerLedger").GetString());
        Assert.True(Provider("providerAnswerTimings", "requests") >= 2, $"{Provider("providerAnswerTimings", "requests")} answers recorded");
        Assert.InRange(Provider("providerAnswerTimings", "groups"), 1, Provider("providerAnswerTimings", "requests"));
        Assert.True(Provider("providerCaptureLookTimings", "requests") >= 1, $"{Provider("providerCaptureLookTimings", "requests")} capture look-ups");
        Assert.InRange(Provider("providerCaptureLookTimings", "groups"), 1, Provider("providerCaptureLookTimings", "requests"));
    }

    [Fact]
    public async Task Finished_orders_leave_memory_and_still_answer_reads()
    {
        var sku = NewSku("at-rest");
        await _api.RestockAsync(sku, 50);
        // Placed and read all at once, so that the five sagas finish close together and the count below is taken within
        // their resting linger (1 s): placed and read one after another on a slow machine, the first saga had gone to
        // rest before the last one finished.
        var orders = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1))));

        // Read as the saga tells them: it finished and wrote each order's whole stream itself.
        var told = await Task.WhenAll(orders.Select(_api.FinishedReadAsync));

        var busy = await _api.ActivationsAsync();
        Assert.True(busy.GetValueOrDefault("OrderSagaGrain") >= 5, $"activations right after the orders finished: {string.Join(", ", busy)}");

        // Sagas, orders and payments at rest deactivate a few seconds after their end; the stock grain stays.
        var now = await Eventually.HoldsAsync(
            _api.ActivationsAsync,
            active => active.GetValueOrDefault("OrderSagaGrain") + active.GetValueOrDefault("OrderGrain") + active.GetValueOrDefault("PaymentGrain") == 0,
            "sagas, orders and payments to deactivate",
            TimeSpan.FromSeconds(60),
            TimeSpan.FromMilliseconds(500),
            active => string.Join(", ", active));
        Assert.True(now.GetValueOrDefault("InventoryGrain") >= 1);

        // A read brings an order back from its streams, whole: the order's grain answers for it now, as the saga did.
        var again = await _api.GetOrderAsync(orders[0]);
        Assert.Equal("Completed", again.GetProperty("status").GetString());
        Assert.Equal("Captured", again.GetProperty("payment").GetProperty("status").GetString());
        Assert.Equal(7, again.GetProperty("saga").GetProperty("steps").GetArrayLength());
        Assert.Equal(told[0].ToString(), again.ToString());
        Assert.Equal(sku, again.GetProperty("lines")[0].GetProperty("sku").GetString());
    }
}
