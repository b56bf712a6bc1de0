using OrderPlatform.Contracts;

namespace OrderPlatform.InvariantChecker;

/// <summary>What to check and how patient to be with a live system.</summary>
public sealed record CheckerOptions
{
    public const string DefaultConsumerSchema = "projections";

    public required string PostgresConnectionString { get; init; }

    /// <summary>Null: Kafka is not read, and invariant 4 rests on the outbox and the consumer inbox alone.</summary>
    public string? KafkaBootstrapServers { get; init; }

    public KafkaTopics Topics { get; init; } = new();

    /// <summary>The PostgreSQL schema of the downstream consumer's inbox (the consumer's <c>Consumer:Schema</c>).</summary>
    public string ConsumerSchema { get; init; } = DefaultConsumerSchema;

    /// <summary>When true a missing consumer schema is a violation; otherwise (the default schema) the inbox checks are skipped.</summary>
    public bool ConsumerSchemaRequired { get; init; }

    /// <summary>Sagas started and events recorded within this span before the snapshot are still in flight and not judged.</summary>
    public TimeSpan InFlightGrace { get; init; } = TimeSpan.Zero;

    /// <summary>How old an unpublished outbox row may be; null means <see cref="InFlightGrace"/>.</summary>
    public TimeSpan? OutboxGrace { get; init; }

    /// <summary>
    /// False: the payment provider keeps its ledger elsewhere (the payment simulator with
    /// <c>PaymentGateway:SimulatorLedger=memory</c>), so <c>psp_simulator.operations</c> is not read and the provider's
    /// side of invariant 3 is not checked; the payments' own events still are.
    /// </summary>
    public bool ReadProviderLedger { get; init; } = true;

    /// <summary>How long reading the topics to their current end may take.</summary>
    public TimeSpan KafkaTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Examples kept per broken rule.</summary>
    public int MaxExamples { get; init; } = 10;
}
