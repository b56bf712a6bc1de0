using Npgsql;
using OrderPlatform.Domain;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Inventory;
using OrderPlatform.Domain.Orders;
using OrderPlatform.Domain.Payments;
using OrderPlatform.EventStore.Migrations;

namespace OrderPlatform.InvariantChecker.Tests.Infrastructure;

/// <summary>
/// A migrated database holding what a healthy platform leaves behind after four orders, built once as a template
/// that every test copies and then breaks in one way:
/// <list type="bullet">
/// <item><see cref="Completed"/>: SKU-A 1 + 1 and SKU-B 1, reserved, authorized, confirmed, captured, sold, completed.</item>
/// <item><see cref="Rejected"/>: SKU-B 10 of 4 available, reservation refused, order rejected.</item>
/// <item><see cref="Cancelled"/>: SKU-A 3 reserved, payment authorized, then cancelled by the customer: voided, released.</item>
/// <item><see cref="Declined"/>: SKU-B 2 reserved, payment declined, released, cancelled.</item>
/// </list>
/// Every event is published and applied by the consumer; some published outbox rows were purged.
/// </summary>
public sealed class HealthyPlatform : IAsyncLifetime
{
    public const string SkuA = "SKU-A";
    public const string SkuB = "SKU-B";

    public static readonly Guid Completed = Guid.Parse("0c0f1e7e-0000-8000-8000-000000000001");
    public static readonly Guid Rejected = Guid.Parse("0c0f1e7e-0000-8000-8000-000000000002");
    public static readonly Guid Cancelled = Guid.Parse("0c0f1e7e-0000-8000-8000-000000000003");
    public static readonly Guid Declined = Guid.Parse("0c0f1e7e-0000-8000-8000-000000000004");

    private PostgresServer _server = null!;
    private string _template = "";

    public async Task InitializeAsync()
    {
        _server = await PostgresServer.InstanceAsync();
        var connectionString = await _server.CreateDatabaseAsync("checker_healthy");
        _template = new NpgsqlConnectionStringBuilder(connectionString).Database!;

        // Disposing the writer closes its connections: a template must have no open sessions when it is copied.
        await using var writer = PlatformWriter.Open(connectionString);
        await new MigrationRunner(writer.DataSource).ApplyAsync();
        await WriteAsync(writer);
    }

    /// <summary>A fresh copy of the healthy database; returns its connection string. (The tests of the collection run one at a time.)</summary>
    public Task<string> CopyAsync() => _server.CreateDatabaseAsync("checker", _template);

    public Task DisposeAsync() => Task.CompletedTask;

    private static async Task WriteAsync(PlatformWriter w)
    {
        var now = DateTimeOffset.UtcNow;
        await w.StockAsync(SkuA, new StockRestocked(10));
        await w.StockAsync(SkuB, new StockRestocked(5));

        // Completed: two lines of SKU-A are reserved as one quantity of 2.
        OrderLine[] completedLines = [new(SkuA, 1, 10m), new(SkuA, 1, 10m), new(SkuB, 1, 5m)];
        await w.SagaAsync(Completed, Started(Completed, completedLines, "tok_approve", now), new SagaStepStarted(new SagaStep(SagaStepKind.PlaceOrder), 1, now));
        await w.OrderAsync(Completed, new OrderPlaced(Completed, "customer-1", completedLines, new Money(25m, "EUR"), now));
        await w.SagaAsync(Completed, new SagaStepSucceeded(new SagaStep(SagaStepKind.PlaceOrder), 1, "Placed", now));
        await w.StockAsync(SkuA, new StockReserved(Completed, 2));
        await w.StockAsync(SkuB, new StockReserved(Completed, 1));
        await w.ProviderAsync(Completed, "authorize", "sim_completed", 25m, approved: true);
        await w.PaymentAsync(Completed, new PaymentAuthorized(Completed, new Money(25m, "EUR"), "sim_completed", now));
        await w.OrderAsync(Completed, new OrderConfirmed(now));
        await w.ProviderAsync(Completed, "capture", "sim_completed", 25m, approved: true);
        await w.PaymentAsync(Completed, new PaymentCaptured(new Money(25m, "EUR"), now));
        await w.StockAsync(SkuA, new StockCommitted(Completed, 2));
        await w.StockAsync(SkuB, new StockCommitted(Completed, 1));
        await w.OrderAsync(Completed, new OrderCompleted(now));
        await w.SagaAsync(Completed, new SagaFinished(SagaOutcome.Completed, null, now));
        await w.IdempotencyKeyAsync("order-completed", Completed, "Accepted");

        // Rejected: 10 of SKU-B wanted, 4 available.
        OrderLine[] rejectedLines = [new(SkuB, 10, 5m)];
        await w.SagaAsync(Rejected, Started(Rejected, rejectedLines, "tok_approve", now));
        await w.OrderAsync(Rejected, new OrderPlaced(Rejected, "customer-2", rejectedLines, new Money(50m, "EUR"), now));
        await w.StockAsync(SkuB, new StockReservationRejected(Rejected, 10, 4));
        await w.SagaAsync(Rejected, new SagaCompensationStarted(SagaOutcome.Rejected, "Out of stock for SKU-B", now));
        await w.OrderAsync(Rejected, new OrderRejected("Out of stock for SKU-B", now));
        await w.SagaAsync(Rejected, new SagaFinished(SagaOutcome.Rejected, "Out of stock for SKU-B", now));
        await w.IdempotencyKeyAsync("order-rejected", Rejected, "Accepted");

        // Cancelled by the customer after the authorization: void at the provider, release the stock.
        OrderLine[] cancelledLines = [new(SkuA, 3, 10m)];
        await w.SagaAsync(Cancelled, Started(Cancelled, cancelledLines, "tok_approve", now));
        await w.OrderAsync(Cancelled, new OrderPlaced(Cancelled, "customer-3", cancelledLines, new Money(30m, "EUR"), now));
        await w.StockAsync(SkuA, new StockReserved(Cancelled, 3));
        await w.ProviderAsync(Cancelled, "authorize", "sim_cancelled", 30m, approved: true);
        await w.PaymentAsync(Cancelled, new PaymentAuthorized(Cancelled, new Money(30m, "EUR"), "sim_cancelled", now));
        await w.SagaAsync(Cancelled, new SagaCancellationRequested("Cancelled by the customer.", now), new SagaCompensationStarted(SagaOutcome.Cancelled, "Cancelled by the customer.", now));
        await w.ProviderAsync(Cancelled, "void", "sim_cancelled", 0m, approved: true, currency: "XXX");
        await w.PaymentAsync(Cancelled, new PaymentVoided("Cancelled by the customer.", now));
        await w.StockAsync(SkuA, new StockReleased(Cancelled, 3));
        await w.OrderAsync(Cancelled, new OrderCancelled("Cancelled by the customer.", now));
        await w.SagaAsync(Cancelled, new SagaFinished(SagaOutcome.Cancelled, "Cancelled by the customer.", now));
        await w.IdempotencyKeyAsync("order-cancelled", Cancelled, "Accepted");
        await w.IdempotencyKeyAsync("cancel-order-cancelled", Cancelled, "CancellationRequested");

        // Declined: nothing to void (the provider declined), stock released, order cancelled.
        OrderLine[] declinedLines = [new(SkuB, 2, 5m)];
        await w.SagaAsync(Declined, Started(Declined, declinedLines, "tok_decline", now));
        await w.OrderAsync(Declined, new OrderPlaced(Declined, "customer-4", declinedLines, new Money(10m, "EUR"), now));
        await w.StockAsync(SkuB, new StockReserved(Declined, 2));
        await w.ProviderAsync(Declined, "authorize", "sim_declined", 10m, approved: false);
        await w.PaymentAsync(Declined, new PaymentDeclined(Declined, new Money(10m, "EUR"), "Card declined (simulated).", now));
        await w.SagaAsync(Declined, new SagaCompensationStarted(SagaOutcome.Cancelled, "Payment declined", now));
        await w.StockAsync(SkuB, new StockReleased(Declined, 2));
        await w.OrderAsync(Declined, new OrderCancelled("Payment declined", now));
        await w.SagaAsync(Declined, new SagaFinished(SagaOutcome.Cancelled, "Payment declined", now));
        await w.IdempotencyKeyAsync("order-declined", Declined, "Accepted");

        await w.PublishAllAsync();
        await w.ApplyAllToInboxAsync();

        // The relay purges published rows after its retention: the restocks' rows are gone.
        await w.ExecuteAsync("delete from outbox where version = 1 and stream_id like 'stock-%'");
    }

    public static SagaStarted Started(Guid orderId, IReadOnlyList<OrderLine> lines, string token, DateTimeOffset now) =>
        new(orderId, $"customer-{orderId:N}", lines, "EUR", token, now, now + TimeSpan.FromMinutes(2), "4bf92f3577b34da6a3ce929d0e0e4736");
}

/// <summary>The tests that copy the healthy database: one at a time, sharing one template.</summary>
[CollectionDefinition(Name)]
public sealed class SharedPlatform : ICollectionFixture<HealthyPlatform>
{
    public const string Name = "platform";
}
