using Npgsql;
using OrderPlatform.LoadGen.Reporting;

namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// Where completed orders' time went, read from the platform's database after a run. Each milestone is an event of the
/// order's own streams, and its time is the event's <c>recorded_at</c>: when the statement that committed it was built,
/// on the clock of the silo that wrote it. A stage runs from the commit of one milestone to the commit of the next, so it
/// holds that first commit, the calls between grains, the work of the steps in between (the stock reservations and the
/// saga's own records, the payment provider's answers) and the wait for the next commit. The stages of an order add up
/// to its whole, from the saga's start to its completion.
/// </summary>
internal static class OrderStages
{
    /// <summary>Orders asked for in one statement.</summary>
    private const int OrdersPerStatement = 2_000;

    /// <summary>The stages, in the order a completed order goes through them, and the milestones they run between; the whole last.</summary>
    public static readonly IReadOnlyList<(string Stage, string From, string To)> Stages =
    [
        ("start -> placed", "saga.started", "order.placed"),
        ("placed -> authorized", "order.placed", "payment.authorized"),
        ("authorized -> confirmed", "payment.authorized", "order.confirmed"),
        ("confirmed -> captured", "order.confirmed", "payment.captured"),
        ("captured -> completed", "payment.captured", "order.completed"),
        ("start -> completed", "saga.started", "order.completed"),
    ];

    private static readonly string[] Milestones = [.. Stages.SelectMany(s => new[] { s.From, s.To }).Distinct(StringComparer.Ordinal)];

    public static async Task<IReadOnlyList<StageLatency>> ReadAsync(string connectionString, IReadOnlyList<Guid> orders, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(orders);
        var seen = new Dictionary<Guid, Dictionary<string, DateTime>>();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        foreach (var chunk in orders.Chunk(OrdersPerStatement))
        {
            await using var command = dataSource.CreateCommand(
                OwnStatements.Tag + "select stream_id, event_type, recorded_at from events where stream_id = any($1) and event_type = any($2)");
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. chunk.SelectMany(StreamIds)] });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = Milestones });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var streamId = reader.GetString(0);
                var orderId = Guid.ParseExact(streamId.AsSpan(streamId.IndexOf('-', StringComparison.Ordinal) + 1), "N");
                if (!seen.TryGetValue(orderId, out var milestones))
                {
                    seen[orderId] = milestones = new Dictionary<string, DateTime>(StringComparer.Ordinal);
                }

                milestones[reader.GetString(1)] = reader.GetFieldValue<DateTime>(2);
            }
        }

        return Summarize(seen.Values);
    }

    /// <summary>The percentiles of every stage over the orders that reached both its milestones.</summary>
    public static IReadOnlyList<StageLatency> Summarize(IEnumerable<IReadOnlyDictionary<string, DateTime>> orders)
    {
        ArgumentNullException.ThrowIfNull(orders);
        var histograms = Stages.Select(_ => LatencySummary.NewHistogram()).ToArray();
        foreach (var milestones in orders)
        {
            for (var i = 0; i < Stages.Count; i++)
            {
                if (milestones.TryGetValue(Stages[i].From, out var from) && milestones.TryGetValue(Stages[i].To, out var to))
                {
                    // Silos' clocks may differ by a little: a stage that seems to end before it began counts as zero.
                    histograms[i].RecordValue(LatencySummary.Microseconds(to - from));
                }
            }
        }

        return [.. Stages.Select((s, i) => new StageLatency(s.Stage, LatencySummary.From(histograms[i])))];
    }

    private static IEnumerable<string> StreamIds(Guid orderId)
    {
        var id = orderId.ToString("N");
        yield return $"saga-{id}";
        yield return $"order-{id}";
        yield return $"payment-{id}";
    }
}
