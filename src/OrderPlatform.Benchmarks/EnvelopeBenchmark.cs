using System.Diagnostics;
using System.Text.Json;
using OrderPlatform.Contracts;

namespace OrderPlatform.Benchmarks;

/// <summary>
/// The relay's work per event outside PostgreSQL and Kafka: the message value made from a stored row. Side by side,
/// alternating: the envelope written straight from the stored data's text, as the relay does, and the way it did before
/// (the metadata and the data parsed into documents, the envelope serialized from them). CPU time and allocation per event.
/// </summary>
public static class EnvelopeBenchmark
{
    private sealed record Row(Guid EventId, string Type, string StreamId, int Version, DateTimeOffset RecordedAt, string Data, string Metadata, string? CorrelationId);

    public static int Run(int events, int rounds)
    {
        var at = DateTimeOffset.UtcNow;
        // Shaped like the platform's published events, as PostgreSQL's jsonb prints them.
        Row[] rows =
        [
            new(Guid.CreateVersion7(), "order.placed", "order-0193a1b2000070008000000000000001", 1, at,
                """{"lines": [{"sku": "SKU-1", "quantity": 2, "unitPrice": 9.99}], "total": {"amount": 19.98, "currency": "EUR"}, "orderId": "0193a1b2-0000-7000-8000-000000000001", "placedAt": "2026-12-03T09:00:00.123456+00:00", "customerId": "customer-1"}""",
                """{"commandId": "saga:0193a1b2000070008000000000000001:PlaceOrder", "correlationId": "4bf92f3577b34da6a3ce929d0e0e4736"}""", "4bf92f3577b34da6a3ce929d0e0e4736"),
            new(Guid.CreateVersion7(), "stock.reserved", "stock-SKU-1", 7, at,
                """{"at": "2026-12-03T09:00:00.123456+00:00", "orderId": "0193a1b2-0000-7000-8000-000000000001", "quantity": 2, "reserveBy": "2026-12-03T09:02:00.123456+00:00"}""",
                """{"commandId": "saga:0193a1b2000070008000000000000001:ReserveStock:SKU-1", "correlationId": "4bf92f3577b34da6a3ce929d0e0e4736"}""", "4bf92f3577b34da6a3ce929d0e0e4736"),
            new(Guid.CreateVersion7(), "payment.captured", "payment-0193a1b2000070008000000000000001", 2, at,
                """{"amount": {"amount": 19.98, "currency": "EUR"}, "capturedAt": "2026-12-03T09:00:00.223456+00:00"}""",
                """{"commandId": "saga:0193a1b2000070008000000000000001:CapturePayment", "correlationId": "4bf92f3577b34da6a3ce929d0e0e4736"}""", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ];

        Console.WriteLine($"message values for {events:N0} stored events (three shapes in turn), {rounds} alternating rounds");
        var results = new Dictionary<string, List<(double Ns, double Bytes)>> { ["written from the stored text"] = [], ["parsed and serialized"] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var raw in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var name = raw ? "written from the stored text" : "parsed and serialized";
                var (ns, bytes) = Measure(rows, events, raw);
                results[name].Add((ns, bytes));
                Console.WriteLine($"round {round + 1} {name,-28}: {ns,7:N0} ns, {bytes,6:N0} B allocated per event");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| message value | ns per event (median) | bytes allocated per event (median) |");
        Console.WriteLine("| --- | --- | --- |");
        foreach (var (name, runs) in results)
        {
            Console.WriteLine($"| {name} | {Percentiles.Of([.. runs.Select(r => r.Ns)], 0.5):N0} | {Percentiles.Of([.. runs.Select(r => r.Bytes)], 0.5):N0} |");
        }

        return 0;
    }

    private static (double Ns, double Bytes) Measure(Row[] rows, int events, bool raw)
    {
        var length = 0L;
        for (var i = 0; i < 1_000; i++)
        {
            length += Value(rows[i % rows.Length], raw).Length;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < events; i++)
        {
            length += Value(rows[i % rows.Length], raw).Length;
        }

        var elapsed = clock.Elapsed;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        GC.KeepAlive(length);
        return (elapsed.TotalNanoseconds / events, (double)bytes / events);
    }

    private static byte[] Value(Row row, bool raw)
    {
        if (raw)
        {
            return EventEnvelope.ToUtf8(row.EventId, row.Type, 1, row.StreamId, row.Version, row.RecordedAt, row.CorrelationId, row.Data);
        }

        using var metadata = JsonDocument.Parse(row.Metadata);
        var correlationId = metadata.RootElement.TryGetProperty("correlationId", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        using var data = JsonDocument.Parse(row.Data);
        return new EventEnvelope(row.EventId, row.Type, 1, row.StreamId, row.Version, row.RecordedAt, correlationId, data.RootElement).ToUtf8();
    }
}
