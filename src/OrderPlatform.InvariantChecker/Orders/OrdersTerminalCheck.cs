using OrderPlatform.InvariantChecker.Reporting;
using OrderPlatform.InvariantChecker.Store;

namespace OrderPlatform.InvariantChecker.Orders;

/// <summary>
/// Invariant 1: every accepted order reaches a terminal state. An order is accepted when its saga started (a
/// <c>saga.started</c> event, or a row in the <c>sagas</c> index, which is written in the same transaction); it
/// is terminal when the saga finished and the order stream's last event is the one the saga's outcome names.
/// </summary>
internal static class OrdersTerminalCheck
{
    public const string Name = "orders-terminal";

    public static InvariantResult Run(PlatformData data, DateTimeOffset now, TimeSpan inFlightGrace, int maxExamples)
    {
        var result = new InvariantResultBuilder(1, Name, "Every accepted order reaches a terminal state (Completed, Rejected, Cancelled).", maxExamples);
        var notFinished = result.Rule("saga not finished");
        var disagree = result.Rule("saga stream and index disagree");
        var orderMismatch = result.Rule("order stream does not end as its saga");
        var orphan = result.Rule("order stream without saga");
        var unreadable = result.Rule("unreadable order or saga events");

        foreach (var problem in data.UnreadableOrderEvents.Concat(data.UnreadableSagaEvents))
        {
            unreadable.Add(problem);
        }

        var startedBefore = now - inFlightGrace;
        long inFlight = 0, completed = 0, rejected = 0, cancelled = 0, finishedLate = 0;
        foreach (var saga in data.Sagas.Values.OrderBy(s => s.StartTime).ThenBy(s => s.OrderId))
        {
            var id = saga.OrderId;
            if (!saga.Started)
            {
                disagree.Add($"{id}: {(saga.Indexed ? "row in sagas" : "saga stream")} without a saga.started event");
            }
            else if (!saga.Indexed)
            {
                disagree.Add($"{id}: saga stream without a row in sagas");
            }
            else if (saga.IndexFinished != (saga.FinishedOutcome is not null)
                || (saga.IndexFinished && saga.IndexOutcome != saga.FinishedOutcome))
            {
                disagree.Add($"{id}: stream says {saga.FinishedOutcome ?? "unfinished"}, sagas row says {(saga.IndexFinished ? saga.IndexOutcome ?? "finished without outcome" : "unfinished")}");
            }

            var order = data.Orders.GetValueOrDefault(id);
            if (!saga.Finished)
            {
                if (saga.StartTime > startedBefore)
                {
                    inFlight++;
                    continue;
                }

                var deadline = saga.Deadline is { } d && d < now ? ", deadline passed" : "";
                var age = saga.StartTime is { } started ? $"started {Format.Age(now - started)} ago" : "start unknown";
                notFinished.Add($"{id} ({age}{deadline}; order {(order is null ? "not placed" : order.LastEventType)})");
                continue;
            }

            var outcome = saga.Outcome ?? "";
            switch (outcome)
            {
                case "Completed": completed++; break;
                case "Rejected": rejected++; break;
                case "Cancelled": cancelled++; break;
            }

            if (saga.FinishedAt > saga.Deadline)
            {
                finishedLate++;
            }

            if (order is null)
            {
                orderMismatch.Add($"{id}: saga {outcome}, no order stream");
            }
            else if (order.Outcome != outcome)
            {
                orderMismatch.Add($"{id}: saga {outcome}, order stream ends with {order.LastEventType} (expected {OrderHistory.TerminalEventOf(outcome)})");
            }
        }

        foreach (var order in data.Orders.Values.Where(o => !data.Sagas.ContainsKey(o.OrderId)).OrderBy(o => o.OrderId))
        {
            orphan.Add($"{order.OrderId}: order stream ends with {order.LastEventType}, no saga");
        }

        result.Count("sagas", data.Sagas.Count);
        result.Count("completed", completed);
        result.Count("rejected", rejected);
        result.Count("cancelled", cancelled);
        result.Count("in flight (skipped)", inFlight);
        result.Count("orders", data.Orders.Count);
        if (finishedLate > 0)
        {
            // Past the point of no return a saga rightly finishes after its deadline, so this is information.
            result.Note($"{finishedLate} saga(s) finished after their deadline");
        }

        return result.Build();
    }
}
