using System.Diagnostics;
using OrderPlatform.Domain.Inventory;

namespace OrderPlatform.Benchmarks;

/// <summary>
/// What a busy SKU's stock costs after many orders: its stream replayed as a reactivating grain does, once as recorded
/// now (each order's deadline for reserving carried, so closed orders are forgotten) and once as recorded before
/// deadlines were carried (every closed order remembered). Alternating rounds in one process; prints each round and
/// the medians.
/// </summary>
public static class StockMemoryBenchmark
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);

    public static int Run(int orders, int perSecond, int rounds)
    {
        Console.WriteLine($"a SKU's stream: {orders:N0} orders reserved and sold at {perSecond}/s ({orders / perSecond / 60.0:N0} min), saga deadline 2 min, forgotten {Stock.ForgetClosedAfter.TotalMinutes:N0} min past it");
        var results = new Dictionary<bool, List<(double Ms, int Closed, double LiveMb)>> { [true] = [], [false] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var withDeadlines in round % 2 == 0 ? new[] { true, false } : [false, true])
            {
                var events = Stream(orders, perSecond, withDeadlines);
                var (ms, closed, liveMb) = Replay(events);
                results[withDeadlines].Add((ms, closed, liveMb));
                Console.WriteLine($"round {round + 1} {(withDeadlines ? "with deadlines   " : "without deadlines")}: replay {ms,8:N0} ms, closed orders kept {closed,9:N0}, state {liveMb,7:N1} MB");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| stream | replay ms (median) | closed orders kept | state MB (median) |");
        Console.WriteLine("| --- | --- | --- | --- |");
        foreach (var withDeadlines in new[] { false, true })
        {
            var runs = results[withDeadlines];
            Console.WriteLine($"| {(withDeadlines ? "with deadlines" : "without deadlines")} | {Percentiles.Of([.. runs.Select(r => r.Ms)], 0.5):N0} | {runs[^1].Closed:N0} | {Percentiles.Of([.. runs.Select(r => r.LiveMb)], 0.5):N1} |");
        }

        return 0;
    }

    /// <summary>Order i reserves one unit at i / rate seconds and its saga commits it: the events its SKU records.</summary>
    private static List<StockEvent> Stream(int orders, int perSecond, bool withDeadlines)
    {
        var events = new List<StockEvent>(2 * orders + 1) { new StockRestocked(Stock.MaxRestockQuantity) };
        for (var i = 0; i < orders; i++)
        {
            var order = Guid.CreateVersion7(Start.AddSeconds((double)i / perSecond));
            var at = Start.AddSeconds((double)i / perSecond);
            DateTimeOffset? due = withDeadlines ? at.AddMinutes(2) : null;
            events.Add(new StockReserved(order, 1, due, withDeadlines ? at : null));
            events.Add(new StockCommitted(order, 1, due));
            if ((i + 1) % Stock.MaxRestockQuantity == 0)
            {
                events.Add(new StockRestocked(Stock.MaxRestockQuantity));
            }
        }

        return events;
    }

    private static (double Ms, int Closed, double LiveMb) Replay(List<StockEvent> events)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        var stock = Stock.Initial;
        foreach (var e in events)
        {
            stock = stock.Apply(e);
        }

        var ms = clock.Elapsed.TotalMilliseconds;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(events);
        return (ms, stock.Closed.Count, (after - before) / 1024.0 / 1024.0);
    }
}
