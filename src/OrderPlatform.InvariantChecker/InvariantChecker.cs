using OrderPlatform.InvariantChecker.Idempotency;
using OrderPlatform.InvariantChecker.Inventory;
using OrderPlatform.InvariantChecker.Orders;
using OrderPlatform.InvariantChecker.Payments;
using OrderPlatform.InvariantChecker.Publishing;
using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;
using OrderPlatform.InvariantChecker.Streams;

namespace OrderPlatform.InvariantChecker;

/// <summary>
/// Checks the invariants of ARCHITECTURE.md against one deployment: PostgreSQL read in a single consistent
/// snapshot, then Kafka read to the end it has at that moment. It only reads.
/// </summary>
public sealed class InvariantChecker(CheckerOptions options)
{
    public const string BadInputName = "bad-input-writes-nothing";

    /// <exception cref="Npgsql.NpgsqlException">The database could not be read.</exception>
    /// <exception cref="Confluent.Kafka.KafkaException">Kafka could not be reached.</exception>
    /// <exception cref="TimeoutException">Kafka was not read to the end in time.</exception>
    public async Task<InvariantReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var snapshot = await StoreSnapshot.OpenAsync(options.PostgresConnectionString, cancellationToken).ConfigureAwait(false);
        await using (snapshot.ConfigureAwait(false))
        {
            var consumer = await ConsumerSchema.LoadAsync(snapshot, options.ConsumerSchema, cancellationToken).ConfigureAwait(false);
            var data = await PlatformData.LoadAsync(snapshot, consumer.StockPositions, options.ReadProviderLedger, cancellationToken).ConfigureAwait(false);

            InvariantResult[] results =
            [
                OrdersTerminalCheck.Run(data, snapshot.Now, options.InFlightGrace, options.MaxExamples),
                StockCheck.Run(data, options.MaxExamples),
                MoneyCheck.Run(data, options.MaxExamples, options.ReadProviderLedger),
                await PublishingCheck.RunAsync(snapshot, data, options, consumer, cancellationToken).ConfigureAwait(false),
                await IdempotencyCheck.RunAsync(snapshot, data, options.MaxExamples, cancellationToken).ConfigureAwait(false),
                await StreamContinuityCheck.RunAsync(snapshot, options.MaxExamples, cancellationToken).ConfigureAwait(false),
                new InvariantResultBuilder(7, BadInputName, "Bad input gets a clear problem+json error and writes nothing.", options.MaxExamples)
                    .Skip("a rejected request leaves no trace to check after the fact; the API tests cover it"),
            ];
            return new InvariantReport(snapshot.Now, results);
        }
    }
}
