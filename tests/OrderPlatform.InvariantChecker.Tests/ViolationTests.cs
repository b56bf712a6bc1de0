using OrderPlatform.Domain;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;
using OrderPlatform.Grains.EventSourcing;
using OrderPlatform.InvariantChecker.Tests.Infrastructure;
using static OrderPlatform.InvariantChecker.Tests.Infrastructure.HealthyPlatform;

namespace OrderPlatform.InvariantChecker.Tests;

/// <summary>Each test breaks the healthy data in one way: that invariant fails, through that rule, and every other one holds.</summary>
[Collection(SharedPlatform.Name)]
public sealed class ViolationTests(HealthyPlatform platform)
{
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    [Fact]
    public async Task A_saga_that_never_finished_breaks_orders_terminal_unless_it_is_within_the_in_flight_grace()
    {
        var connectionString = await platform.CopyAsync();
        var stuck = Guid.NewGuid();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            OrderLine[] lines = [new(SkuA, 1, 10m)];
            await w.SagaAsync(stuck, Started(stuck, lines, "tok_approve", Now.AddMinutes(-10)));
            await w.OrderAsync(stuck, new OrderPlaced(stuck, "customer-5", lines, new Money(10m, "EUR"), Now));
            await w.StockAsync(SkuA, new StockReserved(stuck, 1));
            await w.PublishAllAsync();
            await w.ApplyAllToInboxAsync();
        }

        var run = await Checks.RunAsync(connectionString);
        var violation = Checks.AssertOnlyViolation(run, "orders-terminal", "saga not finished");
        Assert.Equal(1, violation.Violations);
        Assert.StartsWith($"{stuck} (started 10 min ago", violation.Examples[0], StringComparison.Ordinal);

        var live = await Checks.RunAsync(connectionString, "--in-flight-grace", "3600");
        Checks.AssertPasses(live);
        Assert.Equal(1, live["orders-terminal"].Count("in flight (skipped)"));
    }

    [Fact]
    public async Task An_empty_provider_ledger_breaks_money_unless_the_check_is_told_the_provider_keeps_it_elsewhere()
    {
        var connectionString = await platform.CopyAsync();
        // The payment simulator with its ledger in a silo's memory (a one-silo benchmark): the table exists, empty.
        await using (var connection = new Npgsql.NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var delete = new Npgsql.NpgsqlCommand("delete from psp_simulator.operations", connection);
            Assert.Equal(5, await delete.ExecuteNonQueryAsync());
        }

        var run = await Checks.RunAsync(connectionString);
        var violation = Checks.AssertOnlyViolation(run, "money", "completed order not charged its total");
        Assert.Equal([$"order {Completed}: total 25.00, charged 25.00 in events, 0.00 at the provider"], violation.Examples);

        var told = await Checks.RunAsync(connectionString, "--provider-ledger", "memory");
        Checks.AssertPasses(told);
        var money = told["money"];
        Assert.Equal(1, money.Count("captured"));
        Assert.DoesNotContain("provider operations", money.Counts.Select(c => c.Name));
        Assert.Equal(["the provider keeps its ledger elsewhere (--provider-ledger memory): the provider's side was not checked"], money.Notes);
    }

    [Fact]
    public async Task Reserving_more_than_is_available_breaks_stock_conservation()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            // SKU-B has 4 available.
            await w.StockAsync(SkuB, new StockReserved(Guid.NewGuid(), 5));
            await w.PublishAllAsync();
            await w.ApplyAllToInboxAsync();
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "stock-conserved", "available below zero");
        Assert.Equal(["SKU-B: available first below zero at version 7, lowest -1"], violation.Examples);
        Assert.Equal(7, run["stock-conserved"].Count("available"));
    }

    [Fact]
    public async Task An_order_confirmed_without_its_reservation_breaks_stock_conservation()
    {
        var connectionString = await platform.CopyAsync();
        var unbacked = Guid.NewGuid();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            // Everything a completed order leaves behind except the stock reservation and sale.
            OrderLine[] lines = [new(SkuA, 1, 10m)];
            await w.SagaAsync(unbacked, Started(unbacked, lines, "tok_approve", Now));
            await w.OrderAsync(unbacked, new OrderPlaced(unbacked, "customer-5", lines, new Money(10m, "EUR"), Now));
            await w.ProviderAsync(unbacked, "authorize", "sim_unbacked", 10m, approved: true);
            await w.PaymentAsync(unbacked, new PaymentAuthorized(unbacked, new Money(10m, "EUR"), "sim_unbacked", Now));
            await w.OrderAsync(unbacked, new OrderConfirmed(Now));
            await w.ProviderAsync(unbacked, "capture", "sim_unbacked", 10m, approved: true);
            await w.PaymentAsync(unbacked, new PaymentCaptured(new Money(10m, "EUR"), Now));
            await w.OrderAsync(unbacked, new OrderCompleted(Now));
            await w.SagaAsync(unbacked, new SagaFinished(SagaOutcome.Completed, null, Now));
            await w.PublishAllAsync();
            await w.ApplyAllToInboxAsync();
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "stock-conserved", "confirmed without reservation");
        Assert.Equal([$"order {unbacked} SKU-A: no reservation"], violation.Examples);
        Assert.Equal(1, run["stock-conserved"].Rule("completed without sale").Violations);
    }

    [Fact]
    public async Task A_capture_of_a_cancelled_order_breaks_money()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.ProviderAsync(Cancelled, "capture", "sim_cancelled", 30m, approved: true);
            await w.PaymentAsync(Cancelled, new PaymentCaptured(new Money(30m, "EUR"), Now));
            await w.PublishAllAsync();
            await w.ApplyAllToInboxAsync();
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "money", "captured, order not completed");
        Assert.Equal([$"order {Cancelled}: captured (events and provider), order Cancelled"], violation.Examples);
        Assert.Equal(
            [$"order {Cancelled} (Cancelled): net charge 30.00 in events, 30.00 at the provider"],
            run["money"].Rule("net charge on cancelled or rejected order").Examples);
    }

    [Fact]
    public async Task A_second_capture_at_the_provider_breaks_money()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.ProviderAsync(Completed, "capture", "sim_completed", 25m, approved: true, key: $"{Completed:N}:capture-again");
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "money", "captured or refunded twice");
        Assert.Equal([$"order {Completed}: provider payment sim_completed captured 2 times, refunded 0 times"], violation.Examples);
    }

    [Fact]
    public async Task An_authorization_of_a_cancelled_order_that_was_never_voided_breaks_money()
    {
        var connectionString = await platform.CopyAsync();
        var open = Guid.NewGuid();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            OrderLine[] lines = [new(SkuA, 1, 10m)];
            await w.SagaAsync(open, Started(open, lines, "tok_approve", Now));
            await w.OrderAsync(open, new OrderPlaced(open, "customer-5", lines, new Money(10m, "EUR"), Now));
            await w.StockAsync(SkuA, new StockReserved(open, 1));
            await w.ProviderAsync(open, "authorize", "sim_open", 10m, approved: true);
            await w.PaymentAsync(open, new PaymentAuthorized(open, new Money(10m, "EUR"), "sim_open", Now));
            await w.SagaAsync(open, new SagaCompensationStarted(SagaOutcome.Cancelled, "The order did not complete before its deadline.", Now));
            await w.StockAsync(SkuA, new StockReleased(open, 1));
            await w.OrderAsync(open, new OrderCancelled("The order did not complete before its deadline.", Now));
            await w.SagaAsync(open, new SagaFinished(SagaOutcome.Cancelled, "The order did not complete before its deadline.", Now));
            await w.PublishAllAsync();
            await w.ApplyAllToInboxAsync();
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "money", "authorization left open");
        Assert.Equal(
            [$"order {open} (Cancelled): payment.authorized without payment.voided", $"order {open} (Cancelled): provider authorization sim_open neither voided nor captured"],
            violation.Examples);
    }

    [Fact]
    public async Task An_outbox_row_left_unpublished_past_the_grace_breaks_publication()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.ExecuteAsync(
                "update outbox set published_at = null, created_at = now() - interval '1 hour' where stream_id = $1 and version = 3",
                StreamIds.Order(Completed));
        }

        var run = await Checks.RunAsync(connectionString, "--outbox-grace", "60");

        var violation = Checks.AssertOnlyViolation(run, "events-published", "unpublished past grace");
        Assert.Equal([$"{StreamIds.Order(Completed)} v3: unpublished for 60 min"], violation.Examples);
        Assert.Equal(1, run["events-published"].Count("unpublished"));

        // A row younger than the grace is still on its way.
        Checks.AssertPasses(await Checks.RunAsync(connectionString, "--outbox-grace", "7200"));
    }

    [Fact]
    public async Task An_outbox_row_without_its_event_breaks_publication()
    {
        var connectionString = await platform.CopyAsync();
        long position;
        await using (var w = PlatformWriter.Open(connectionString))
        {
            position = await w.ScalarAsync<long>("select max(global_position) + 1000 from events");
            await w.ExecuteAsync(
                "insert into outbox (global_position, stream_id, version, aggregate_type, created_at, published_at) values ($1, $2, 9, 'order', now(), now())",
                position, StreamIds.Order(Completed));
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "events-published", "outbox row disagrees with its event");
        var example = Assert.Single(violation.Examples);
        Assert.EndsWith($"(order {StreamIds.Order(Completed)} v9) announces global position {position}, which holds no event", example, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_the_consumer_never_applied_breaks_publication()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.ExecuteAsync(
                "delete from projections.inbox where event_id = (select event_id from events where stream_id = $1 and version = 1)",
                StreamIds.Payment(Declined));
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "events-published", "missing from inbox");
        Assert.Single(violation.Examples);
        Assert.StartsWith($"{StreamIds.Payment(Declined)} v1 payment.declined", violation.Examples[0], StringComparison.Ordinal);
        Assert.Equal(
            [$"{StreamIds.Payment(Declined)}: position v1, inbox up to nothing"],
            run["events-published"].Rule("stream position differs from inbox").Examples);
    }

    [Fact]
    public async Task An_event_applied_after_a_later_version_of_its_stream_breaks_publication()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            // The consumer met v2 first (lower offset), so v1 was recorded as stale and its read-model change never happened.
            await w.ExecuteAsync(
                "update projections.inbox set kafka_offset = kafka_offset + 1000 where stream_id = $1 and version = 1",
                StreamIds.Stock(SkuA));
            await w.ExecuteAsync("update projections.stock_levels set on_hand = on_hand - 10 where sku = $1", SkuA);
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "events-published", "recorded stale, never applied");
        Assert.Single(violation.Examples);
        Assert.Equal(
            ["stock-SKU-A: read model on hand/reserved/sold 0/0/2, replay as of v5 10/0/2"],
            run["events-published"].Rule("stock read model differs from replay").Examples);
    }

    [Fact]
    public async Task A_version_gap_breaks_stream_continuity()
    {
        var connectionString = await platform.CopyAsync();
        var streamId = StreamIds.Saga(Completed);
        await using (var w = PlatformWriter.Open(connectionString))
        {
            var last = await w.ScalarAsync<int>("select max(version) from events where stream_id = $1", streamId);
            await w.AppendAtAsync(streamId, last + 2, new SagaStepStarted(new SagaStep(SagaStepKind.CompleteOrder), 2, Now));
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "streams-contiguous", "version gap");
        Assert.Equal([$"{streamId}: 5 version(s) up to 6, missing 5"], violation.Examples);
        Assert.Equal(0, run["streams-contiguous"].Rule("duplicate version").Violations);
    }

    [Fact]
    public async Task One_order_under_two_idempotency_keys_breaks_idempotency()
    {
        var connectionString = await platform.CopyAsync();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.IdempotencyKeyAsync("order-completed-again", Completed, "Accepted");
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "idempotency", "order under several keys");
        Assert.Equal([$"order {Completed}: keys 'order-completed', 'order-completed-again'"], violation.Examples);
    }

    [Fact]
    public async Task An_accepted_order_without_a_saga_breaks_idempotency()
    {
        var connectionString = await platform.CopyAsync();
        var lost = Guid.NewGuid();
        await using (var w = PlatformWriter.Open(connectionString))
        {
            await w.IdempotencyKeyAsync("order-lost", lost, "Accepted");
        }

        var run = await Checks.RunAsync(connectionString);

        var violation = Checks.AssertOnlyViolation(run, "idempotency", "accepted order without saga");
        Assert.Equal([$"order {lost} (key 'order-lost'): no saga stream and no row in sagas"], violation.Examples);
    }
}
