using OrderPlatform.InvariantChecker.Orders;
using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Inventory;

/// <summary>
/// Invariant 2: stock is conserved per SKU. Each <c>stock-{sku}</c> stream is replayed in version order with
/// on hand = Σ restocked, reserved = Σ reserved − Σ released − Σ committed, sold = Σ committed and
/// available = on hand − reserved − sold; available must never go below zero, no order may give back more
/// than it holds, reserve or buy twice, or keep holding stock once it ended. Across streams (by global
/// position): every SKU line of a confirmed order was reserved, in full, before the confirmation and still
/// held then; a completed order bought every line.
/// </summary>
internal static class StockCheck
{
    public const string Name = "stock-conserved";

    public static InvariantResult Run(PlatformData data, int maxExamples)
    {
        var result = new InvariantResultBuilder(2, Name, "Stock is conserved per SKU: on hand = available + reserved + sold; available never below zero; no order confirmed without its reservation.", maxExamples);
        var belowZero = result.Rule("available below zero");
        var overReleased = result.Rule("order gave back more than it held");
        var reservedTwice = result.Rule("reserved twice");
        var committedTwice = result.Rule("committed twice");
        var leaked = result.Rule("stock held after order ended");
        var unbacked = result.Rule("confirmed without reservation");
        var unsold = result.Rule("completed without sale");
        var unreadable = result.Rule("unreadable stock events");

        foreach (var problem in data.UnreadableStockEvents)
        {
            unreadable.Add(problem);
        }

        foreach (var stock in data.Stock.Values.OrderBy(s => s.StreamId, StringComparer.Ordinal))
        {
            if (stock.FirstNegativeAvailableAt is { } version)
            {
                belowZero.Add($"{stock.Sku}: available first below zero at version {version}, lowest {stock.MinAvailable}");
            }

            foreach (var (orderId, reservation) in stock.ByOrder.OrderBy(r => r.Key))
            {
                if (reservation.WentNegativeAt is { } at)
                {
                    overReleased.Add($"{stock.Sku} order {orderId}: released or committed more than reserved at version {at}");
                }

                if (reservation.ReservedCount > 1)
                {
                    reservedTwice.Add($"{stock.Sku} order {orderId}: {reservation.ReservedCount} reservations");
                }

                if (reservation.CommittedCount > 1)
                {
                    committedTwice.Add($"{stock.Sku} order {orderId}: {reservation.CommittedCount} commits");
                }

                if (reservation.Held > 0)
                {
                    // The saga releases or commits before it records the order's end, so an ended order holds nothing.
                    var order = data.Orders.GetValueOrDefault(orderId);
                    if (order is { IsTerminal: true })
                    {
                        leaked.Add($"{stock.Sku} order {orderId}: holds {reservation.Held} after {order.LastEventType}");
                    }
                    else if (order is null && !data.Sagas.ContainsKey(orderId))
                    {
                        leaked.Add($"{stock.Sku} order {orderId}: holds {reservation.Held} for an order that does not exist");
                    }
                }
            }
        }

        long confirmed = 0, completed = 0;
        foreach (var order in data.Orders.Values.OrderBy(o => o.OrderId))
        {
            if (order.ConfirmedPosition is not null)
            {
                confirmed++;
                CheckBackedByReservations(data, order, unbacked);
            }

            if (order.Outcome == "Completed")
            {
                completed++;
                foreach (var (sku, quantity) in order.QuantityBySku.OrderBy(l => l.Key, StringComparer.Ordinal))
                {
                    var sold = data.Stock.GetValueOrDefault("stock-" + sku)?.ByOrder.GetValueOrDefault(order.OrderId)?.CommittedQuantity ?? 0;
                    if (sold != quantity)
                    {
                        unsold.Add($"order {order.OrderId} {sku}: sold {sold} of {quantity}");
                    }
                }
            }
        }

        result.Count("skus", data.Stock.Count);
        result.Count("stock events", data.StockEvents);
        result.Count("on hand", data.Stock.Values.Sum(s => s.OnHand));
        result.Count("available", data.Stock.Values.Sum(s => s.Available));
        result.Count("reserved", data.Stock.Values.Sum(s => s.Reserved));
        result.Count("sold", data.Stock.Values.Sum(s => s.Sold));
        result.Count("confirmed orders", confirmed);
        result.Count("completed orders", completed);
        return result.Build();
    }

    private static void CheckBackedByReservations(PlatformData data, OrderHistory order, Rule unbacked)
    {
        if (order.PlacedPosition is null)
        {
            unbacked.Add($"order {order.OrderId}: confirmed but never placed");
            return;
        }

        foreach (var (sku, quantity) in order.QuantityBySku.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            var reservation = data.Stock.GetValueOrDefault("stock-" + sku)?.ByOrder.GetValueOrDefault(order.OrderId);
            var problem = reservation switch
            {
                null or { ReservedPosition: null } => "no reservation",
                _ when reservation.ReservedPosition > order.ConfirmedPosition => "reserved after the confirmation",
                _ when reservation.ReservedQuantity != quantity => $"reserved {reservation.ReservedQuantity} of {quantity}",
                _ when reservation.ClosedPosition < order.ConfirmedPosition => "released before the confirmation",
                _ => null,
            };
            if (problem is not null)
            {
                unbacked.Add($"order {order.OrderId} {sku}: {problem}");
            }
        }
    }
}
