namespace OrderPlatform.InvariantChecker.Inventory;

/// <summary>One order's dealings with one SKU, replayed from the SKU's stream.</summary>
internal sealed class StockReservation
{
    /// <summary>What the order holds now: reserved minus released minus committed.</summary>
    public int Held { get; set; }

    public int ReservedCount { get; set; }

    public int ReservedQuantity { get; set; }

    public long? ReservedPosition { get; set; }

    /// <summary>The first release or commit: from then on the reservation no longer backs a confirmation.</summary>
    public long? ClosedPosition { get; set; }

    public int CommittedCount { get; set; }

    public int CommittedQuantity { get; set; }

    /// <summary>The version at which a release or commit took more than the order held, if one did.</summary>
    public int? WentNegativeAt { get; set; }
}

/// <summary>One SKU's stock, replayed from its <c>stock-{sku}</c> stream in version order.</summary>
internal sealed class SkuStock(string streamId)
{
    public string StreamId => streamId;

    public string Sku => streamId["stock-".Length..];

    public int Events { get; set; }

    public int LastVersion { get; set; }

    public long OnHand { get; set; }

    public long Reserved { get; set; }

    public long Sold { get; set; }

    public long Available => OnHand - Reserved - Sold;

    public int? FirstNegativeAvailableAt { get; set; }

    public long MinAvailable { get; set; }

    public Dictionary<Guid, StockReservation> ByOrder { get; } = [];

    /// <summary>On hand, reserved and sold as of a version a consumer reported having applied (see <see cref="CaptureAt"/>).</summary>
    public (long OnHand, long Reserved, long Sold)? Captured { get; set; }

    public int? CaptureAt { get; set; }

    public StockReservation For(Guid orderId)
    {
        if (!ByOrder.TryGetValue(orderId, out var reservation))
        {
            reservation = new StockReservation();
            ByOrder.Add(orderId, reservation);
        }

        return reservation;
    }
}
