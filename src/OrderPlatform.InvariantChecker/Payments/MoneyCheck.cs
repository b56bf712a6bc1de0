using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Payments;

/// <summary>
/// Invariant 3: money. From the <c>payment-{id}</c> streams and, when the deployment runs the payment simulator,
/// from the provider's own ledger (approved operations under keys <c>{orderId:N}:{operation}</c>): a capture
/// follows the order's confirmation and belongs to an order that completed; a cancelled or rejected order
/// carries no net charge (captured − refunded) on either side; nothing is captured or refunded twice; an
/// authorization of a cancelled or rejected order that was not captured was voided; a completed order was
/// charged its total. Orders that have not ended are left to invariant 1.
/// </summary>
internal static class MoneyCheck
{
    public const string Name = "money";

    public static InvariantResult Run(PlatformData data, int maxExamples, bool ledgerRead)
    {
        var result = new InvariantResultBuilder(3, Name, "A captured payment belongs to a confirmed order; a cancelled or rejected order ends with no net charge; nothing is captured or refunded twice.", maxExamples);
        var unconfirmed = result.Rule("captured before confirmation");
        var notCompleted = result.Rule("captured, order not completed");
        var netCharge = result.Rule("net charge on cancelled or rejected order");
        var twice = result.Rule("captured or refunded twice");
        var open = result.Rule("authorization left open");
        var undercharged = result.Rule("completed order not charged its total");
        var unreadable = result.Rule("unreadable payment events");

        foreach (var problem in data.UnreadablePaymentEvents)
        {
            unreadable.Add(problem);
        }

        var ledger = data.Ledger;
        var orderIds = data.Payments.Keys
            .Concat(ledger?.ByOrder.Keys ?? Enumerable.Empty<Guid>())
            .Concat(data.Orders.Values.Where(o => o.IsTerminal).Select(o => o.OrderId))
            .Distinct()
            .Order();
        foreach (var orderId in orderIds)
        {
            var payment = data.Payments.GetValueOrDefault(orderId);
            var order = data.Orders.GetValueOrDefault(orderId);
            var psp = ledger is null ? null : new LedgerView(ledger.Of(orderId));
            var captured = payment?.Captured > 0 || psp?.Captures > 0;

            if (payment?.FirstCapturePosition is { } capturedAt && !(order?.ConfirmedPosition < capturedAt))
            {
                unconfirmed.Add($"order {orderId}: captured at position {capturedAt}, {(order?.ConfirmedPosition is { } c ? $"confirmed at {c}" : "never confirmed")}");
            }

            if (payment?.Captured > 1 || payment?.Refunded > 1)
            {
                twice.Add($"order {orderId}: {payment.Captured} payment.captured, {payment.Refunded} payment.refunded");
            }

            foreach (var (reference, captures, refunds) in psp?.RepeatedByReference ?? [])
            {
                twice.Add($"order {orderId}: provider payment {reference} captured {captures} times, refunded {refunds} times");
            }

            switch (order?.Outcome)
            {
                case "Completed":
                    CheckCharged(orderId, order.Total ?? 0m, payment, psp, undercharged);
                    break;
                case "Rejected" or "Cancelled":
                    if (captured)
                    {
                        notCompleted.Add($"order {orderId}: captured ({Sources(payment?.Captured > 0, psp?.Captures > 0)}), order {order.Outcome}");
                    }

                    if (payment is { NetCharged: not 0m } || psp is { NetCharged: not 0m })
                    {
                        netCharge.Add($"order {orderId} ({order.Outcome}): net charge {Format.Money(payment?.NetCharged ?? 0m)} in events, {(psp is null ? "no ledger" : $"{Format.Money(psp.NetCharged)} at the provider")}");
                    }

                    if (payment is { Authorized: > 0, Captured: 0, Voided: 0 })
                    {
                        open.Add($"order {orderId} ({order.Outcome}): payment.authorized without payment.voided");
                    }

                    foreach (var reference in psp?.OpenAuthorizations ?? [])
                    {
                        open.Add($"order {orderId} ({order.Outcome}): provider authorization {reference} neither voided nor captured");
                    }

                    break;
                case null when order is null && captured:
                    notCompleted.Add($"order {orderId}: captured ({Sources(payment?.Captured > 0, psp?.Captures > 0)}), no order stream");
                    break;
            }
        }

        result.Count("payments", data.Payments.Count);
        result.Count("authorized", data.Payments.Values.Count(p => p.Authorized > 0));
        result.Count("declined", data.Payments.Values.Count(p => p.Declined > 0));
        result.Count("captured", data.Payments.Values.Count(p => p.Captured > 0));
        result.Count("voided", data.Payments.Values.Count(p => p.Voided > 0));
        result.Count("refunded", data.Payments.Values.Count(p => p.Refunded > 0));
        if (!ledgerRead)
        {
            result.Note("the provider keeps its ledger elsewhere (--provider-ledger memory): the provider's side was not checked");
        }
        else if (ledger is null)
        {
            result.Note("no psp_simulator.operations: the provider's side was not checked");
        }
        else
        {
            result.Count("provider operations", ledger.Operations);
            if (ledger.Unattributed.Count > 0)
            {
                result.Note($"{ledger.Unattributed.Count} provider operation(s) under keys that name no order, e.g. {ledger.Unattributed[0].IdempotencyKey}");
            }
        }

        return result.Build();
    }

    private static void CheckCharged(Guid orderId, decimal total, PaymentHistory? payment, LedgerView? psp, Rule undercharged)
    {
        var charged = payment?.NetCharged ?? 0m;
        if (charged != total || (psp is not null && psp.NetCharged != total))
        {
            undercharged.Add($"order {orderId}: total {Format.Money(total)}, charged {Format.Money(charged)} in events, {(psp is null ? "no ledger" : $"{Format.Money(psp.NetCharged)} at the provider")}");
        }
    }

    private static string Sources(bool? inEvents, bool? atProvider) =>
        (inEvents == true, atProvider == true) switch
        {
            (true, true) => "events and provider",
            (true, false) => "events",
            _ => "provider",
        };

    /// <summary>One order's approved operations at the provider.</summary>
    private sealed class LedgerView(IReadOnlyList<PspOperation> operations)
    {
        private readonly List<PspOperation> _approved = [.. operations.Where(o => o.Approved)];

        public int Captures => _approved.Count(o => o.Operation == "capture");

        public decimal NetCharged =>
            _approved.Where(o => o.Operation == "capture").Sum(o => o.Amount) - _approved.Where(o => o.Operation == "refund").Sum(o => o.Amount);

        public IEnumerable<(string Reference, int Captures, int Refunds)> RepeatedByReference =>
            _approved.GroupBy(o => o.PaymentRef, StringComparer.Ordinal)
                .Select(g => (g.Key, g.Count(o => o.Operation == "capture"), g.Count(o => o.Operation == "refund")))
                .Where(r => r.Item2 > 1 || r.Item3 > 1);

        /// <summary>Approved authorizations with neither an approved void nor an approved capture of the same provider payment.</summary>
        public IEnumerable<string> OpenAuthorizations =>
            _approved.Where(o => o.Operation == "authorize")
                .Select(o => o.PaymentRef)
                .Where(reference => !_approved.Any(o => o.PaymentRef == reference && o.Operation is "void" or "capture"));
    }
}
