using System.Net;
using System.Text.Json;
using OrderPlatform.EventStore.Events;
using OrderPlatform.IntegrationTests.Infrastructure;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The saga's record of a one-step stage's success (with the next stage's start, or the finish) commits in the
/// participant's transaction, read off PostgreSQL's transaction ids (<c>xmin</c>); a record the saga's stream
/// refuses (a cancellation landed meanwhile) or one offered too long ago leaves the saga to record the outcome itself.
/// A popular SKU's stock grain appends the commands that queued behind an append together, with their records.
/// </summary>
public sealed class CarriedRecordTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private readonly Platform _api = fixture.Api;

    private static string NewSku(string name) => $"{name}-{Guid.NewGuid():N}"[..24];

    private static string[] Participants(Guid orderId, string sku) => [$"order-{orderId:N}", $"payment-{orderId:N}", $"stock-{sku}"];

    /// <summary>The participants' events (restocks aside) whose transaction also wrote saga events, in order.</summary>
    private Task<string> CarryingEventsAsync(Guid orderId, string sku) => _api.ScalarAsync<string>(
        """
        select coalesce(string_agg(p.event_type, ',' order by p.global_position), '') from events p
        where p.stream_id = any($1) and p.event_type <> 'stock.restocked'
          and exists (select 1 from events s where s.stream_id = $2 and s.xmin = p.xmin)
        """,
        Participants(orderId, sku), $"saga-{orderId:N}");

    /// <summary>How many transactions wrote saga events and nothing of the order's participants.</summary>
    private Task<long> SagaOnlyTransactionsAsync(Guid orderId, string sku) => _api.ScalarAsync<long>(
        """
        select count(distinct s.xmin::text) from events s
        where s.stream_id = $2 and not exists (select 1 from events p where p.stream_id = any($1) and p.xmin = s.xmin)
        """,
        Participants(orderId, sku), $"saga-{orderId:N}");

    /// <summary>The transaction (<c>xmin</c>) that wrote a stream's event of a type.</summary>
    private Task<string> TransactionOfAsync(string stream, string eventType) => _api.ScalarAsync<string>(
        "select xmin::text from events where stream_id = $1 and event_type = $2", stream, eventType);

    private Task<long> SagaEventsAsync(Guid orderId, string type) => _api.ScalarAsync<long>(
        "select count(*) from event_log where stream_id = $1 and event_type = $2", $"saga-{orderId:N}", type);

    /// <summary>A saga stream holds versions 1..n, each once: whoever wrote them, no record was lost or doubled.</summary>
    private async Task AssertContiguousAsync(Guid orderId)
    {
        var (count, max) = (await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"saga-{orderId:N}"),
            await _api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"saga-{orderId:N}"));
        Assert.Equal(count, max);
    }

    [Fact]
    public async Task A_happy_orders_one_step_stages_record_their_outcome_in_the_participants_transaction()
    {
        var sku = NewSku("carried");
        await _api.RestockAsync(sku, 5);
        var orderId = await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 2));
        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        // The saga's start placed the order in its own transaction (decision record 0024), which leaves the first stage
        // one step (the reservation of one SKU); that, the authorization, the capture and the stock's commit each carried
        // the saga's record, the authorization the order's confirmation too and the commit the order's completion
        // (decision record 0031). No transaction wrote the saga's events alone.
        Assert.Equal(
            "order.placed,stock.reserved,payment.authorized,order.confirmed,payment.captured,stock.committed,order.completed",
            await CarryingEventsAsync(orderId, sku));
        Assert.Equal(0L, await SagaOnlyTransactionsAsync(orderId, sku));
        Assert.Equal(
            await TransactionOfAsync($"payment-{orderId:N}", "payment.authorized"),
            await TransactionOfAsync($"order-{orderId:N}", "order.confirmed"));
        Assert.Equal(
            await TransactionOfAsync($"stock-{sku}", "stock.committed"),
            await TransactionOfAsync($"order-{orderId:N}", "order.completed"));

        // The finish and the saga index row's "finished" committed with the order's completion.
        Assert.Equal(
            await TransactionOfAsync($"order-{orderId:N}", "order.completed"),
            await _api.ScalarAsync<string>("select xmin::text from sagas where order_id = $1 and finished", orderId));
        Assert.Equal(1L, await SagaEventsAsync(orderId, "saga.finished"));
        Assert.Equal(7L, await SagaEventsAsync(orderId, "saga.step-succeeded"));
        await AssertContiguousAsync(orderId);

        // Its 16 events (start, 7 steps started and succeeded, finish) take 7 rows: each append's run of step events is one
        // 'saga.steps' row (decision record 0020), the authorization's and the confirmation's one, the commit's and the
        // completion's another; the start and the finish keep rows of their own.
        Assert.Equal(
            (7L, 16L, 5L),
            (await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"saga-{orderId:N}"),
             await _api.ScalarAsync<long>("select count(*) from event_log where stream_id = $1", $"saga-{orderId:N}"),
             await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1 and event_type = 'saga.steps'", $"saga-{orderId:N}")));
        Assert.All(order.GetProperty("saga").GetProperty("steps").EnumerateArray(), s => Assert.Equal("Succeeded", s.GetProperty("status").GetString()));
        Assert.Equal(2, (await _api.GetStockAsync(sku)).GetProperty("sold").GetInt32());
    }

    [Fact]
    public async Task The_orders_confirmation_and_completion_carried_by_other_appends_are_the_ones_its_grain_would_append()
    {
        var sku = NewSku("confirmed");
        await _api.RestockAsync(sku, 5);
        var orderId = await _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1));
        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        // Versions 2 and 3 of the order's stream, named by the command ids of the first attempts at confirming and
        // completing, with the order's correlation id, and announced through the outbox like any order event.
        var stream = $"order-{orderId:N}";
        Assert.Equal(
            ("order.placed", "order.confirmed", "order.completed"),
            (await _api.ScalarAsync<string>("select event_type from events where stream_id = $1 and version = 1", stream),
             await _api.ScalarAsync<string>("select event_type from events where stream_id = $1 and version = 2", stream),
             await _api.ScalarAsync<string>("select event_type from events where stream_id = $1 and version = 3", stream)));
        Assert.Equal(
            ($"saga:{orderId:N}:ConfirmOrder", $"saga:{orderId:N}:CompleteOrder"),
            (await _api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 2", stream),
             await _api.ScalarAsync<string>("select metadata->>'commandId' from events where stream_id = $1 and version = 3", stream)));
        Assert.Equal(1L, await _api.ScalarAsync<long>(
            "select count(distinct metadata->>'correlationId') from events where stream_id = $1 and metadata->>'correlationId' is not null having count(*) = 3", stream));
        Assert.Equal(2L, await _api.ScalarAsync<long>(
            "select count(*) from outbox where stream_id = $1 and version in (2, 3) and aggregate_type = 'order'", stream));

        // The saga shows each first attempt started and succeeded, with the order's answer as its detail.
        var steps = order.GetProperty("saga").GetProperty("steps").EnumerateArray().ToDictionary(s => s.GetProperty("step").GetString()!);
        Assert.Equal(
            (("Succeeded", 1, "Confirmed"), ("Succeeded", 1, "Completed")),
            ((steps["ConfirmOrder"].GetProperty("status").GetString(), steps["ConfirmOrder"].GetProperty("attempts").GetInt32(), steps["ConfirmOrder"].GetProperty("detail").GetString()),
             (steps["CompleteOrder"].GetProperty("status").GetString(), steps["CompleteOrder"].GetProperty("attempts").GetInt32(), steps["CompleteOrder"].GetProperty("detail").GetString())));
        await AssertContiguousAsync(orderId);
    }

    [Fact]
    public async Task An_orders_grain_that_read_its_stream_before_the_confirmation_was_carried_takes_it_in_and_completes_the_order()
    {
        var (one, two) = (NewSku("stale-a"), NewSku("stale-b"));
        await _api.RestockAsync(one, 5);
        await _api.RestockAsync(two, 5);

        // Two SKUs: the stock's commit is a stage of two steps, so the order's grain completes the order as a step. A read
        // while the 1.2 s authorization runs activates that grain, which reads the order as placed; the authorization then
        // carries the confirmation, behind that activation's back.
        var orderId = await _api.PlaceOrderAsync("tok_slow_1200", Platform.Line(one, 1), Platform.Line(two, 1));
        var during = await ReadDuringTheAuthorizationAsync(orderId);
        Assert.Equal("Placed", during.GetProperty("status").GetString());

        // The completion tells the grain the order's stream as the saga wrote it: it takes in the confirmation and
        // completes the order on the first attempt (a grain still at "placed" would refuse, and be retried, forever).
        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal(("Completed", "Completed"), (order.GetProperty("saga").GetProperty("outcome").GetString(), order.GetProperty("status").GetString()));
        var complete = order.GetProperty("saga").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == "CompleteOrder");
        Assert.Equal(1, complete.GetProperty("attempts").GetInt32());
        Assert.Equal(
            await TransactionOfAsync($"payment-{orderId:N}", "payment.authorized"),
            await TransactionOfAsync($"order-{orderId:N}", "order.confirmed"));
        Assert.NotEqual(
            await TransactionOfAsync($"stock-{one}", "stock.committed"),
            await TransactionOfAsync($"order-{orderId:N}", "order.completed"));
        Assert.Equal(3, await _api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"order-{orderId:N}"));
    }

    [Fact]
    public async Task A_read_of_an_order_its_grain_read_before_shows_what_the_saga_committed_behind_its_back()
    {
        var sku = NewSku("fresh-read");
        await _api.RestockAsync(sku, 5);

        // One SKU: the order's grain is not called on the order's way; a read during the authorization activates it.
        var orderId = await _api.PlaceOrderAsync("tok_slow_1200", Platform.Line(sku, 1));
        Assert.Equal("Placed", (await ReadDuringTheAuthorizationAsync(orderId)).GetProperty("status").GetString());

        // The confirmation and the completion landed with the authorization's and the stock commit's appends; the read
        // after the finish asks the same activation, which reads what it missed.
        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal(("Completed", "Completed"), (order.GetProperty("saga").GetProperty("outcome").GetString(), order.GetProperty("status").GetString()));
        Assert.Equal(
            await TransactionOfAsync($"stock-{sku}", "stock.committed"),
            await TransactionOfAsync($"order-{orderId:N}", "order.completed"));
    }

    /// <summary>Reads the order once its authorization has started (a 1.2 s one, so before it answers).</summary>
    private Task<JsonElement> ReadDuringTheAuthorizationAsync(Guid orderId) =>
        _api.WaitForAsync(orderId, o => o.GetProperty("saga").GetProperty("steps").EnumerateArray()
            .Any(s => s.GetProperty("step").GetString() == "AuthorizePayment"), "the AuthorizePayment step to start");

    [Fact]
    public async Task Orders_for_one_sku_that_queue_behind_its_append_share_the_next_one_and_nothing_is_oversold_or_recorded_twice()
    {
        var sku = NewSku("popular");
        await _api.RestockAsync(sku, 40);

        // 60 orders of one unit at once for 40 units; every sixth payment is declined, so its reservation is released.
        var orders = await Task.WhenAll(Enumerable.Range(0, 60)
            .Select(i => _api.PlaceOrderAsync(i % 6 == 5 ? "tok_decline" : "tok_approve", Platform.Line(sku, 1))));
        var statuses = (await Task.WhenAll(orders.Select(id => _api.WaitUntilFinishedAsync(id))))
            .Select(o => o.GetProperty("status").GetString()).ToList();
        var completed = statuses.Count(s => s == "Completed");

        // 50 payers for 40 units: at least 30 got one (the 10 declined hold a unit each at most), none got one twice.
        Assert.InRange(completed, 30, 40);
        Assert.Equal(60, completed + statuses.Count(s => s is "Rejected" or "Cancelled"));
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal(
            (40 - completed, 0, completed),
            (stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));

        // The stock's commands that arrived while an append was under way were appended together: fewer transactions
        // than events (one command at a time, every event would have a transaction of its own). Versions stay 1..n.
        var (events, transactions, maxVersion) = (
            await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"stock-{sku}"),
            await _api.ScalarAsync<long>("select count(distinct xmin::text) from events where stream_id = $1", $"stock-{sku}"),
            await _api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"stock-{sku}"));
        Assert.Equal(events, maxVersion);
        Assert.True(transactions < events, $"{events} stock events took {transactions} transactions");

        // Each event of a shared append names its own command and its own order's correlation id, not another's.
        Assert.Equal(0L, await _api.ScalarAsync<long>(
            """
            select count(*) from events st
            left join events sg on sg.stream_id = 'saga-' || replace(st.data->>'orderId', '-', '') and sg.version = 1
            where st.stream_id = $1 and st.event_type <> 'stock.restocked'
              and (sg.metadata->>'correlationId' is null or st.metadata->>'correlationId' is distinct from sg.metadata->>'correlationId'
                   or st.metadata->>'commandId' not like 'saga:' || replace(st.data->>'orderId', '-', '') || ':%')
            """,
            $"stock-{sku}"));

        // Whether a saga's record rode on a shared append or went alone, each step succeeded once in its saga's stream.
        Assert.Equal(0L, await _api.ScalarAsync<long>(
            """
            select count(*) from (select stream_id, data->'step' from event_log
                                  where stream_id = any($1) and event_type = 'saga.step-succeeded' group by 1, 2 having count(*) > 1) doubled
            """,
            (object)orders.Select(id => $"saga-{id:N}").ToArray()));
        foreach (var orderId in orders)
        {
            await AssertContiguousAsync(orderId);
        }
    }

    [Fact]
    public async Task A_stock_grain_overtaken_by_another_writer_decides_its_queued_commands_again_against_the_stream()
    {
        var sku = NewSku("overtaken");
        await _api.RestockAsync(sku, 10);

        // Another writer appends 5 units behind the active grain's back (as a stale activation's twin would): the
        // grain's next append expects version 1 and is refused.
        await using (var dataSource = Npgsql.NpgsqlDataSource.Create(fixture.ConnectionString))
        {
            var store = new PostgresEventStore(dataSource, TimeProvider.System);
            Assert.Equal(2, await store.AppendAsync($"stock-{sku}", "stock", 1,
                [new EventToAppend(Guid.NewGuid(), "stock.restocked", 1, """{"quantity": 5}""", """{"commandId": "restock-behind-its-back"}""")]));
        }

        // 20 orders at once for the 15 units there now are: the grain reads what it missed and decides them again.
        var orders = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => _api.PlaceOrderAsync("tok_approve", Platform.Line(sku, 1))));
        var statuses = (await Task.WhenAll(orders.Select(id => _api.WaitUntilFinishedAsync(id))))
            .Select(o => o.GetProperty("status").GetString()).ToList();

        Assert.Equal((15, 5), (statuses.Count(s => s == "Completed"), statuses.Count(s => s == "Rejected")));
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal(
            (15, 0, 0, 15),
            (stock.GetProperty("onHand").GetInt32(), stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32(), stock.GetProperty("sold").GetInt32()));
        Assert.Equal(
            await _api.ScalarAsync<long>("select count(*) from events where stream_id = $1", $"stock-{sku}"),
            await _api.ScalarAsync<int>("select max(version) from events where stream_id = $1", $"stock-{sku}"));
    }

    [Fact]
    public async Task A_cancellation_during_a_step_refuses_its_carried_record_and_the_step_is_recorded_once_by_the_saga()
    {
        var sku = NewSku("refused");
        await _api.RestockAsync(sku, 5);

        // Authorization takes 1.2 s (inside the 2 s window); the cancellation lands in the saga's stream meanwhile,
        // so the record offered with the authorization expects a version the stream has passed.
        var orderId = await _api.PlaceOrderAsync("tok_slow_1200", Platform.Line(sku, 1));
        await _api.WaitForAsync(orderId, o => o.GetProperty("saga").GetProperty("steps").EnumerateArray()
            .Any(s => s.GetProperty("step").GetString() == "AuthorizePayment"), "the AuthorizePayment step to start");
        using (var cancel = await _api.PostJsonAsync($"/orders/{orderId}/cancel", new { reason = "Too slow." }, $"cancel-{orderId}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Cancelled", order.GetProperty("status").GetString());
        Assert.Equal("Voided", order.GetProperty("payment").GetProperty("status").GetString());

        // The authorization landed alone; its success was recorded once, by the saga. The start (with the order's placing)
        // and the reservation came before it, and the compensations carried theirs.
        var carrying = (await CarryingEventsAsync(orderId, sku)).Split(',');
        Assert.DoesNotContain("payment.authorized", carrying);
        Assert.Equal(["order.placed", "stock.reserved", "payment.voided", "stock.released", "order.cancelled"], carrying);
        Assert.Equal(1L, await _api.ScalarAsync<long>(
            "select count(*) from event_log where stream_id = $1 and event_type = 'saga.step-succeeded' and data->'step'->>'kind' = 'AuthorizePayment'",
            $"saga-{orderId:N}"));
        Assert.Equal(1L, await SagaEventsAsync(orderId, "saga.cancellation-requested"));
        await AssertContiguousAsync(orderId);
        var stock = await _api.GetStockAsync(sku);
        Assert.Equal((5, 0), (stock.GetProperty("available").GetInt32(), stock.GetProperty("reserved").GetInt32()));
    }

    [Fact]
    public async Task A_step_slower_than_the_window_leaves_its_outcome_to_the_saga()
    {
        var sku = NewSku("slow");
        await _api.RestockAsync(sku, 5);

        // 2.5 s to authorize: the record offered with it was decided (and dated) more than the 2 s window ago.
        var orderId = await _api.PlaceOrderAsync("tok_slow_2500", Platform.Line(sku, 1));
        var order = await _api.WaitUntilFinishedAsync(orderId);
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        Assert.Equal("order.placed,stock.reserved,order.confirmed,payment.captured,stock.committed,order.completed", await CarryingEventsAsync(orderId, sku));
        Assert.Equal(1L, await SagaOnlyTransactionsAsync(orderId, sku));
        await AssertContiguousAsync(orderId);
        var authorize = order.GetProperty("saga").GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("step").GetString() == "AuthorizePayment");
        Assert.Equal("Succeeded", authorize.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.String, authorize.GetProperty("detail").ValueKind);
    }
}
