using System.Text.Json;
using OrderPlatform.InvariantChecker.Inventory;
using OrderPlatform.InvariantChecker.Orders;
using OrderPlatform.InvariantChecker.Payments;

namespace OrderPlatform.InvariantChecker.Store;

/// <summary>
/// The order, stock, payment and saga streams, the saga index and the payment provider's ledger, folded into
/// what the checks need. Streams are read in version order without buffering, so memory grows with the number
/// of orders and SKUs, not with the number of events.
/// </summary>
internal sealed class PlatformData
{
    public Dictionary<Guid, OrderHistory> Orders { get; } = [];

    public Dictionary<Guid, PaymentHistory> Payments { get; } = [];

    public Dictionary<string, SkuStock> Stock { get; } = new(StringComparer.Ordinal);

    public Dictionary<Guid, SagaRecord> Sagas { get; } = [];

    /// <summary>Null when the deployment has no payment simulator (a real provider keeps its ledger to itself).</summary>
    public PspLedger? Ledger { get; private set; }

    public long OrderEvents { get; private set; }

    public long StockEvents { get; private set; }

    public long PaymentEvents { get; private set; }

    public List<string> UnreadableOrderEvents { get; } = [];

    public List<string> UnreadableStockEvents { get; } = [];

    public List<string> UnreadablePaymentEvents { get; } = [];

    public List<string> UnreadableSagaEvents { get; } = [];

    /// <summary>
    /// Reads everything; <paramref name="stockCaptureAt"/> names, per stock stream, a version at which to remember on hand,
    /// reserved and sold; the provider's ledger only when <paramref name="readLedger"/>.
    /// </summary>
    public static async Task<PlatformData> LoadAsync(StoreSnapshot snapshot, IReadOnlyDictionary<string, int> stockCaptureAt, bool readLedger, CancellationToken cancellationToken)
    {
        var data = new PlatformData();
        await data.LoadOrdersAsync(snapshot, cancellationToken).ConfigureAwait(false);
        await data.LoadPaymentsAsync(snapshot, cancellationToken).ConfigureAwait(false);
        await data.LoadStockAsync(snapshot, stockCaptureAt, cancellationToken).ConfigureAwait(false);
        await data.LoadSagasAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (readLedger)
        {
            await data.LoadLedgerAsync(snapshot, cancellationToken).ConfigureAwait(false);
        }

        return data;
    }

    private async Task LoadOrdersAsync(StoreSnapshot snapshot, CancellationToken cancellationToken)
    {
        OrderHistory? current = null;
        string? currentStream = null;
        await snapshot.ReadAsync(
            """
            select stream_id, version, event_type, case when event_type = 'order.placed' then data::text end, global_position
            from events where stream_id like 'order-%' order by stream_id, version
            """,
            row =>
            {
                OrderEvents++;
                var (streamId, version, type, position) = (row.GetString(0), row.GetInt32(1), row.GetString(2), row.GetInt64(4));
                if (streamId != currentStream)
                {
                    currentStream = streamId;
                    current = OrderIdOf(streamId, "order-") is { } orderId ? new OrderHistory(orderId, streamId) : null;
                    if (current is null)
                    {
                        UnreadableOrderEvents.Add($"{streamId}: not order-{{uuid:N}}");
                    }
                    else
                    {
                        Orders.Add(current.OrderId, current);
                    }
                }

                if (current is null)
                {
                    return;
                }

                var order = current;
                order.LastEventType = type;
                Guarded(UnreadableOrderEvents, streamId, version, type, () =>
                {
                    switch (type)
                    {
                        case OrderHistory.Placed:
                            using (var json = JsonDocument.Parse(row.GetString(3)))
                            {
                                order.PlacedPosition ??= position;
                                (order.Total, order.Currency) = StoredJson.Money(json.RootElement, "total");
                                foreach (var line in StoredJson.Array(json.RootElement, "lines"))
                                {
                                    var sku = StoredJson.String(line, "sku");
                                    order.QuantityBySku[sku] = order.QuantityBySku.GetValueOrDefault(sku) + StoredJson.Int(line, "quantity");
                                }
                            }

                            break;
                        case OrderHistory.Confirmed:
                            order.ConfirmedPosition ??= position;
                            break;
                        case OrderHistory.Completed or OrderHistory.Rejected or OrderHistory.Cancelled:
                            break;
                        default:
                            throw new FormatException("unknown order event type");
                    }
                });
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task LoadPaymentsAsync(StoreSnapshot snapshot, CancellationToken cancellationToken)
    {
        PaymentHistory? current = null;
        string? currentStream = null;
        await snapshot.ReadAsync(
            "select stream_id, version, event_type, data::text, global_position from events where stream_id like 'payment-%' order by stream_id, version",
            row =>
            {
                PaymentEvents++;
                var (streamId, version, type, position) = (row.GetString(0), row.GetInt32(1), row.GetString(2), row.GetInt64(4));
                if (streamId != currentStream)
                {
                    currentStream = streamId;
                    current = OrderIdOf(streamId, "payment-") is { } orderId ? new PaymentHistory(orderId, streamId) : null;
                    if (current is null)
                    {
                        UnreadablePaymentEvents.Add($"{streamId}: not payment-{{uuid:N}}");
                    }
                    else
                    {
                        Payments.Add(current.OrderId, current);
                    }
                }

                if (current is null)
                {
                    return;
                }

                var payment = current;
                Guarded(UnreadablePaymentEvents, streamId, version, type, () =>
                {
                    using var json = JsonDocument.Parse(row.GetString(3));
                    var data = json.RootElement;
                    switch (type)
                    {
                        case "payment.authorized":
                            payment.Authorized++;
                            payment.ProviderReference = StoredJson.String(data, "providerReference");
                            break;
                        case "payment.declined":
                            payment.Declined++;
                            break;
                        case "payment.captured":
                            payment.Captured++;
                            payment.CapturedAmount += StoredJson.Money(data, "amount").Amount;
                            payment.FirstCapturePosition ??= position;
                            break;
                        case "payment.refunded":
                            payment.Refunded++;
                            payment.RefundedAmount += StoredJson.Money(data, "amount").Amount;
                            break;
                        case "payment.voided":
                            payment.Voided++;
                            break;
                        default:
                            throw new FormatException("unknown payment event type");
                    }
                });
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task LoadStockAsync(StoreSnapshot snapshot, IReadOnlyDictionary<string, int> captureAt, CancellationToken cancellationToken)
    {
        SkuStock? current = null;
        await snapshot.ReadAsync(
            "select stream_id, version, event_type, data::text, global_position from events where stream_id like 'stock-%' order by stream_id, version",
            row =>
            {
                StockEvents++;
                var (streamId, version, type, position) = (row.GetString(0), row.GetInt32(1), row.GetString(2), row.GetInt64(4));
                if (current?.StreamId != streamId)
                {
                    current = new SkuStock(streamId) { CaptureAt = captureAt.TryGetValue(streamId, out var at) ? at : null };
                    Stock.Add(streamId, current);
                }

                var stock = current;
                stock.Events++;
                stock.LastVersion = version;
                Guarded(UnreadableStockEvents, streamId, version, type, () => ApplyStock(stock, version, type, position, row.GetString(3)));
                if (stock.Available < 0)
                {
                    stock.FirstNegativeAvailableAt ??= version;
                }

                stock.MinAvailable = Math.Min(stock.MinAvailable, stock.Available);
                if (stock.CaptureAt == version)
                {
                    stock.Captured = (stock.OnHand, stock.Reserved, stock.Sold);
                }
            },
            cancellationToken).ConfigureAwait(false);
    }

    private static void ApplyStock(SkuStock stock, int version, string type, long position, string json)
    {
        using var document = JsonDocument.Parse(json);
        var data = document.RootElement;
        switch (type)
        {
            case "stock.restocked":
                stock.OnHand += StoredJson.Int(data, "quantity");
                break;
            case "stock.reserved":
            {
                var quantity = StoredJson.Int(data, "quantity");
                var reservation = stock.For(StoredJson.Guid(data, "orderId"));
                reservation.ReservedCount++;
                reservation.ReservedQuantity += quantity;
                reservation.ReservedPosition ??= position;
                reservation.Held += quantity;
                stock.Reserved += quantity;
                break;
            }

            case "stock.reservation-rejected":
                break;
            case "stock.released" or "stock.committed":
            {
                var quantity = StoredJson.Int(data, "quantity");
                var reservation = stock.For(StoredJson.Guid(data, "orderId"));
                reservation.Held -= quantity;
                reservation.ClosedPosition ??= position;
                stock.Reserved -= quantity;
                if (type == "stock.committed")
                {
                    reservation.CommittedCount++;
                    reservation.CommittedQuantity += quantity;
                    stock.Sold += quantity;
                }

                if (reservation.Held < 0)
                {
                    reservation.WentNegativeAt ??= version;
                }

                break;
            }

            default:
                throw new FormatException("unknown stock event type");
        }
    }

    private async Task LoadSagasAsync(StoreSnapshot snapshot, CancellationToken cancellationToken)
    {
        await snapshot.ReadAsync(
            """
            select stream_id, version, event_type, data::text from events
            where stream_id like 'saga-%' and event_type in ('saga.started', 'saga.finished')
            order by stream_id, version
            """,
            row =>
            {
                var (streamId, version, type) = (row.GetString(0), row.GetInt32(1), row.GetString(2));
                if (OrderIdOf(streamId, "saga-") is not { } orderId)
                {
                    UnreadableSagaEvents.Add($"{streamId}: not saga-{{uuid:N}}");
                    return;
                }

                var saga = SagaOf(orderId);
                Guarded(UnreadableSagaEvents, streamId, version, type, () =>
                {
                    using var json = JsonDocument.Parse(row.GetString(3));
                    if (type == "saga.started")
                    {
                        saga.Started = true;
                        saga.StartedAt = StoredJson.Time(json.RootElement, "startedAt");
                        saga.Deadline = StoredJson.Time(json.RootElement, "deadline");
                    }
                    else
                    {
                        saga.FinishedOutcome = StoredJson.String(json.RootElement, "outcome");
                        saga.FinishedAt = StoredJson.Time(json.RootElement, "finishedAt");
                    }
                });
            },
            cancellationToken).ConfigureAwait(false);

        await snapshot.ReadAsync(
            "select order_id, finished, outcome, started_at from sagas",
            row =>
            {
                var saga = SagaOf(row.GetGuid(0));
                saga.Indexed = true;
                saga.IndexFinished = row.GetBoolean(1);
                saga.IndexOutcome = row.IsDBNull(2) ? null : row.GetString(2);
                saga.IndexStartedAt = row.GetFieldValue<DateTimeOffset>(3);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private async Task LoadLedgerAsync(StoreSnapshot snapshot, CancellationToken cancellationToken)
    {
        if (!await snapshot.RelationExistsAsync("psp_simulator.operations", cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var ledger = new PspLedger();
        await snapshot.ReadAsync(
            "select idempotency_key, operation, payment_ref, amount, currency, outcome from psp_simulator.operations order by created_at, idempotency_key",
            row =>
            {
                ledger.Operations++;
                var operation = new PspOperation(
                    row.GetString(0), row.GetString(1), row.GetString(2), row.GetDecimal(3), row.GetString(4).Trim(), row.GetString(5) == "approved");
                if (PspLedger.OrderOf(operation.IdempotencyKey) is { } orderId)
                {
                    if (!ledger.ByOrder.TryGetValue(orderId, out var operations))
                    {
                        operations = [];
                        ledger.ByOrder.Add(orderId, operations);
                    }

                    operations.Add(operation);
                }
                else
                {
                    ledger.Unattributed.Add(operation);
                }
            },
            cancellationToken).ConfigureAwait(false);
        Ledger = ledger;
    }

    private SagaRecord SagaOf(Guid orderId)
    {
        if (!Sagas.TryGetValue(orderId, out var saga))
        {
            saga = new SagaRecord(orderId);
            Sagas.Add(orderId, saga);
        }

        return saga;
    }

    public static Guid? OrderIdOf(string streamId, string prefix) =>
        streamId.StartsWith(prefix, StringComparison.Ordinal) && Guid.TryParseExact(streamId.AsSpan(prefix.Length), "N", out var id) ? id : null;

    /// <summary>An event the checker cannot read is reported, not skipped in silence: a check that misread it would be wrong.</summary>
    private static void Guarded(List<string> unreadable, string streamId, int version, string type, Action read)
    {
        try
        {
            read();
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
        {
            unreadable.Add($"{streamId} v{version} {type}: {e.Message}");
        }
    }
}
