namespace OrderPlatform.InvariantChecker.Payments;

/// <summary>What the checks need from one <c>payment-{id}</c> stream.</summary>
internal sealed class PaymentHistory(Guid orderId, string streamId)
{
    public Guid OrderId => orderId;

    public string StreamId => streamId;

    public int Authorized { get; set; }

    public string? ProviderReference { get; set; }

    public int Declined { get; set; }

    public int Captured { get; set; }

    public decimal CapturedAmount { get; set; }

    public long? FirstCapturePosition { get; set; }

    public int Refunded { get; set; }

    public decimal RefundedAmount { get; set; }

    public int Voided { get; set; }

    public decimal NetCharged => CapturedAmount - RefundedAmount;
}

/// <summary>One row of the payment simulator's ledger (psp_simulator.operations).</summary>
internal sealed record PspOperation(string IdempotencyKey, string Operation, string PaymentRef, decimal Amount, string Currency, bool Approved);

/// <summary>The simulator's ledger, grouped by the order its idempotency keys (<c>{orderId:N}:{operation}</c>) name.</summary>
internal sealed class PspLedger
{
    public Dictionary<Guid, List<PspOperation>> ByOrder { get; } = [];

    public List<PspOperation> Unattributed { get; } = [];

    public long Operations { get; set; }

    public static Guid? OrderOf(string idempotencyKey)
    {
        var separator = idempotencyKey.IndexOf(':', StringComparison.Ordinal);
        return separator > 0 && Guid.TryParseExact(idempotencyKey.AsSpan(0, separator), "N", out var orderId) ? orderId : null;
    }

    public IReadOnlyList<PspOperation> Of(Guid orderId) => ByOrder.TryGetValue(orderId, out var operations) ? operations : [];
}
