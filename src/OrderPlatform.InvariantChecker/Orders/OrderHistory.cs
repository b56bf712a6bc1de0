namespace OrderPlatform.InvariantChecker.Orders;

/// <summary>What the checks need from one <c>order-{id}</c> stream.</summary>
internal sealed class OrderHistory(Guid orderId, string streamId)
{
    public const string Placed = "order.placed";
    public const string Confirmed = "order.confirmed";
    public const string Completed = "order.completed";
    public const string Rejected = "order.rejected";
    public const string Cancelled = "order.cancelled";

    public Guid OrderId => orderId;

    public string StreamId => streamId;

    public long? PlacedPosition { get; set; }

    public long? ConfirmedPosition { get; set; }

    /// <summary>The placed lines' quantities summed per SKU, as the saga reserves them.</summary>
    public Dictionary<string, int> QuantityBySku { get; } = new(StringComparer.Ordinal);

    public decimal? Total { get; set; }

    public string? Currency { get; set; }

    public string LastEventType { get; set; } = "";

    /// <summary>Completed, Rejected or Cancelled when the stream ends in a terminal event, else null.</summary>
    public string? Outcome => LastEventType switch
    {
        Completed => "Completed",
        Rejected => "Rejected",
        Cancelled => "Cancelled",
        _ => null,
    };

    public bool IsTerminal => Outcome is not null;

    public static string TerminalEventOf(string outcome) => outcome switch
    {
        "Completed" => Completed,
        "Rejected" => Rejected,
        "Cancelled" => Cancelled,
        _ => $"(unknown outcome '{outcome}')",
    };
}
