using System.Diagnostics;
using OrderPlatform.Domain.Checkout;
using OrderPlatform.Domain.Orders;

namespace OrderPlatform.Benchmarks;

/// <summary>
/// The saga's decisions and state for one order, in process, as its grain drives them: begin, then run each stage's
/// steps (started, then succeeded) until the saga is idle. CPU time and allocation per completed saga, for one-SKU and
/// three-SKU orders.
/// </summary>
public static class SagaBenchmark
{
    public static int Run(int sagas, int rounds)
    {
        Console.WriteLine($"{sagas:N0} happy sagas a round, {rounds} rounds");
        var shapes = new (string Name, OrderLine[] Lines)[]
        {
            ("one SKU", [new OrderLine("SKU-1", 2, 9.99m)]),
            ("three SKUs", [new OrderLine("SKU-1", 2, 9.99m), new OrderLine("SKU-2", 1, 5m), new OrderLine("SKU-3", 4, 1.25m)]),
        };
        foreach (var (name, lines) in shapes)
        {
            var runs = new List<(double Ns, double Bytes)>();
            Drive(lines, 1_000);
            for (var round = 0; round < rounds; round++)
            {
                runs.Add(Drive(lines, sagas));
            }

            Console.WriteLine($"{name,-10}: {Percentiles.Of([.. runs.Select(r => r.Ns)], 0.5),8:N0} ns, {Percentiles.Of([.. runs.Select(r => r.Bytes)], 0.5),7:N0} B allocated per saga (medians; rounds: {string.Join(", ", runs.Select(r => r.Ns.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)))} ns)");
        }

        return 0;
    }

    private static (double Ns, double Bytes) Drive(OrderLine[] lines, int sagas)
    {
        var now = new DateTimeOffset(2026, 12, 3, 12, 0, 0, TimeSpan.Zero);
        var policy = SagaPolicy.Default;
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < sagas; i++)
        {
            var saga = Fold(OrderSaga.Initial, OrderSaga.Initial.Begin(Guid.CreateVersion7(now), "customer-1", lines, "EUR", "tok_approve", now, policy));
            for (var turn = 0; turn < 50; turn++)
            {
                var decision = saga.Decide(now);
                if (decision is SagaDecision.Run run)
                {
                    saga = Fold(saga, [.. run.Steps.Select(s => new SagaStepStarted(s.Step, s.Attempt, now))]);
                    saga = Fold(saga, saga.RecordResults([.. run.Steps.Select(s => new StepOutcome(s.Step, s.Attempt, StepResult.Succeeded()))], now, policy, 0.5));
                }
                else if (decision is SagaDecision.Record record)
                {
                    saga = Fold(saga, record.Events);
                }
                else
                {
                    break;
                }
            }

            if (saga.Phase != SagaPhase.Finished)
            {
                throw new InvalidOperationException($"A happy saga ended in {saga.Phase}.");
            }
        }

        var elapsed = clock.Elapsed;
        return (elapsed.TotalNanoseconds / sagas, (double)(GC.GetAllocatedBytesForCurrentThread() - allocated) / sagas);
    }

    private static OrderSaga Fold(OrderSaga saga, IReadOnlyList<SagaEvent> events)
    {
        foreach (var e in events)
        {
            saga = saga.Apply(e);
        }

        return saga;
    }
}
