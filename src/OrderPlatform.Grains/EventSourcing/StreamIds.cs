namespace OrderPlatform.Grains.EventSourcing;

/// <summary>Stream ids of the aggregates; the prefix names the aggregate so a stream id is readable in psql.</summary>
public static class StreamIds
{
    public static string Order(Guid orderId) => $"order-{orderId:N}";

    public static string Stock(string sku) => $"stock-{sku}";

    public static string Payment(Guid orderId) => $"payment-{orderId:N}";

    public static string Saga(Guid orderId) => $"saga-{orderId:N}";
}
