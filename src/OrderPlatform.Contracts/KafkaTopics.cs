namespace OrderPlatform.Contracts;

/// <summary>Topic names (configuration section "Kafka:Topics"); one topic per aggregate type.</summary>
public sealed class KafkaTopics
{
    public string Orders { get; set; } = "orderplatform.orders";

    public string Inventory { get; set; } = "orderplatform.inventory";

    public string Payments { get; set; } = "orderplatform.payments";

    /// <summary>Where a consumer parks messages it could not apply, with the reason in the headers.</summary>
    public string DeadLetter { get; set; } = "orderplatform.deadletter";

    /// <summary>The topic of an aggregate type as stored in the outbox (order, stock, payment); null for any other.</summary>
    public string? ForAggregate(string aggregateType) => aggregateType switch
    {
        "order" => Orders,
        "stock" => Inventory,
        "payment" => Payments,
        _ => null,
    };

    public IReadOnlyList<string> EventTopics => [Orders, Inventory, Payments];
}
