using System.Globalization;
using System.Text;

namespace OrderPlatform.LoadGen.Reporting;

/// <summary>The human-readable report: one row per run, then what went wrong, then the ramp's verdict.</summary>
internal static class ReportText
{
    private static readonly (string Header, int Width)[] Columns =
    [
        ("run", 6), ("rate/s", 8), ("sent", 7), ("sagas/s", 9), ("p50 ms", 9), ("p90 ms", 9), ("p99 ms", 9), ("p99.9 ms", 9), ("max ms", 9),
        ("POST p50", 9), ("POST p99", 9), ("errors", 7), ("completed", 10), ("cancelled", 10), ("rejected", 9), ("in flight", 10),
    ];

    private static readonly (string Header, int Width)[] ServerColumns =
    [
        ("commits/saga", 13), ("WAL syncs/saga", 15), ("WAL KB/saga", 12), ("relay backlog", 14), ("relay lag s", 12), ("silo CPU %", 11),
        ("silo RSS MB", 12), ("pg CPU %", 9), ("box busy %", 11), ("loadgen CPU %", 14), ("silo ms/saga", 13), ("pg ms/saga", 11),
    ];

    private static readonly (string Header, int Width)[] CeilingColumns = [("sagas/s / pg tps", 17)];

    /// <param name="server">With the columns of <see cref="RunResult.Server"/>.</param>
    /// <param name="ceiling">With the column of <see cref="RunResult.ShareOfCommitCeiling"/>.</param>
    public static string Header(bool server = false, bool ceiling = false) =>
        Line(Layout(server, ceiling).Select(c => c.Header).ToArray(), server, ceiling);

    public static string Row(RunResult run, bool server = false, bool ceiling = false)
    {
        ArgumentNullException.ThrowIfNull(run);
        var cells = new List<string>
        {
            run.Phase, Number(run.OfferedRate), Number(run.Sent), Number(run.SagasPerSecond),
            Ms(run.Latency.P50), Ms(run.Latency.P90), Ms(run.Latency.P99), Ms(run.Latency.P999), Ms(run.Latency.Max),
            Ms(run.PostLatency.P50), Ms(run.PostLatency.P99),
            Number(run.Errors), Number(run.Outcomes.GetValueOrDefault("Completed")), Number(run.Outcomes.GetValueOrDefault("Cancelled")),
            Number(run.Outcomes.GetValueOrDefault("Rejected")), Number(run.MaxInFlight),
        };
        if (server)
        {
            var metrics = run.Server;
            cells.AddRange(
            [
                Optional(metrics?.CommitsPerSaga, "0.0"), Optional(metrics?.WalSyncsPerSaga, "0.0"), Optional(metrics?.WalKbPerSaga, "0.0"),
                Optional(metrics?.RelayBacklogMax, "0"), Optional(metrics?.RelayLagMaxSeconds, "0.0"),
                Optional(metrics?.SiloCpuPercent, "0"), Optional(metrics?.SiloRssMb, "0"),
                Optional(metrics?.PostgresCpuPercent, "0"), Optional(metrics?.BoxBusyPercent, "0"), Optional(metrics?.LoadGeneratorCpuPercent, "0"),
                Optional(metrics?.SiloCpuMsPerSaga, "0.00"), Optional(metrics?.PostgresCpuMsPerSaga, "0.00"),
            ]);
        }

        if (ceiling)
        {
            cells.Add(Optional(run.ShareOfCommitCeiling, "0.00"));
        }

        return Line([.. cells], server, ceiling);
    }

    private static IEnumerable<(string Header, int Width)> Layout(bool server, bool ceiling) =>
        Columns.Concat(server ? ServerColumns : []).Concat(ceiling ? CeilingColumns : []);

    private static string Line(string[] cells, bool server, bool ceiling)
    {
        var line = new StringBuilder();
        foreach (var (cell, (_, width)) in cells.Zip(Layout(server, ceiling)))
        {
            line.Append(cell.PadLeft(width));
        }

        return line.ToString();
    }

    private static string Optional(double? value, string format) => value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    /// <summary>Lines under the table: errors by kind and outcomes without a column, per run that had any.</summary>
    public static IEnumerable<string> Details(RunResult run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.ErrorsByKind.Count > 0)
        {
            yield return $"  {run.Phase} {Number(run.OfferedRate)}/s errors: {string.Join(", ", run.ErrorsByKind.Select(e => $"{e.Key} {e.Value}"))}";
        }

        var others = run.Outcomes.Where(o => o.Key is not ("Completed" or "Cancelled" or "Rejected")).ToList();
        if (others.Count > 0)
        {
            yield return $"  {run.Phase} {Number(run.OfferedRate)}/s other outcomes: {string.Join(", ", others.Select(o => $"{o.Key} {o.Value}"))}";
        }

        if (run.Stages is { Count: > 0 } stages)
        {
            yield return $"  {run.Phase} {Number(run.OfferedRate)}/s, where the completed orders' time went, from commit to commit of their milestones (ms):";
            yield return $"    {"stage",-24}{"orders",8}{"p50",9}{"p90",9}{"p99",9}{"max",9}";
            foreach (var stage in stages)
            {
                yield return $"    {stage.Stage,-24}{Number(stage.Latency.Count),8}{Ms(stage.Latency.P50),9}{Ms(stage.Latency.P90),9}{Ms(stage.Latency.P99),9}{Ms(stage.Latency.Max),9}";
            }
        }

        if (run.Server?.RefusedOrders is > 0 and { } refused)
        {
            yield return $"  {run.Phase} {Number(run.OfferedRate)}/s: the silos refused {Number(refused)} POSTs as over their admission limit (sent again after Retry-After)";
        }

        if (run.Server?.Gc is { } gc)
        {
            yield return $"  {run.Phase} {Number(run.OfferedRate)}/s, the silos' garbage collector: {Optional(gc.AllocatedKbPerSaga, "0.0")} KB allocated a saga, "
                + $"paused {gc.PausedPercent.ToString("0.00", CultureInfo.InvariantCulture)}% of the window; collections gen0 {Number(gc.Gen0)}, gen1 {Number(gc.Gen1)}, gen2 {Number(gc.Gen2)}";
        }

        foreach (var (what, writes) in new[]
        {
            ("the silos' appends", run.Server?.Appends),
            ("the payment simulator's answers", run.Server?.ProviderAnswers),
            ("the payment simulator's capture look-ups", run.Server?.ProviderCaptureLooks),
        })
        {
            if (writes is { Requests: > 0 })
            {
                yield return $"  {run.Phase} {Number(run.OfferedRate)}/s, {what}: {Number(writes.Requests)} in {Number(writes.Groups)} statements "
                    + $"({Optional(writes.RequestsPerGroup, "0.0")} each); ms waiting for the statement p50 {FineMs(writes.WaitP50Ms)}, p90 {FineMs(writes.WaitP90Ms)}, p99 {FineMs(writes.WaitP99Ms)}; "
                    + $"in it, with its commit, p50 {FineMs(writes.WriteP50Ms)}, p90 {FineMs(writes.WriteP90Ms)}, p99 {FineMs(writes.WriteP99Ms)}";
            }
        }
    }

    public static string Verdict(RampSummary ramp)
    {
        ArgumentNullException.ThrowIfNull(ramp);
        var limit = $"p99 < {Number(ramp.MaxP99Ms)} ms and no errors";
        return ramp.HighestSustainedRate is { } rate
            ? $"highest rate sustained ({limit}): {Number(rate)} orders/s" + (ramp.FirstFailedRate is { } failed ? $"; {Number(failed)}/s was not" : $"; the ramp ended at {Number(ramp.To)}/s")
            : $"no rate sustained ({limit}); the first step, {Number(ramp.From)}/s, was not";
    }

    private static string Ms(double? milliseconds) => milliseconds is { } ms ? ms.ToString(ms < 100 ? "0.0" : "0", CultureInfo.InvariantCulture) : "-";

    /// <summary>Milliseconds to the microsecond under 1 ms: a grouped append's wait is often a few microseconds.</summary>
    private static string FineMs(double? milliseconds) => milliseconds is < 1 and { } ms ? ms.ToString("0.000", CultureInfo.InvariantCulture) : Ms(milliseconds);

    private static string Number(double value) => value.ToString(value == Math.Floor(value) ? "0" : "0.##", CultureInfo.InvariantCulture);
}
