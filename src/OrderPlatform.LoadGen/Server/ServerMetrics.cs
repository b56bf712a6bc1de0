namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// The platform's side of a run's measured window, when the command was told where to look: silo CPU (percent of
/// one core, summed over the silo processes) and peak resident memory, PostgreSQL commits in the platform's
/// database (read-only transactions count too), the server's WAL flushes (<c>pg_stat_wal.wal_sync</c>, the durable
/// commits after group commit; the whole server) and the WAL it wrote (<see cref="WalRecords"/>, <see cref="WalBytes"/>:
/// what every change costs the disk and any replica), the outbox relay's peak backlog and lag as
/// <c>GET /relay/status</c> reports them, PostgreSQL's CPU (the postmaster and its backends, percent of one core),
/// how busy the whole machine was (percent of all its cores), and the load generator's own CPU (percent of one core:
/// on one machine, the share of the box the client takes from what it measures). The per-saga values divide by the
/// sagas finished in the window. <see cref="Appends"/>, <see cref="ProviderAnswers"/> and <see cref="ProviderCaptureLooks"/>
/// are where the silos' appends, the payment simulator's recorded answers and its captures' look-ups spent their time,
/// when the silos tell.
/// </summary>
internal sealed record ServerMetrics(
    double? SiloCpuPercent,
    double? SiloRssMb,
    long? Commits,
    double? CommitsPerSaga,
    long? WalSyncs,
    double? WalSyncsPerSaga,
    long? RelayBacklogMax,
    double? RelayLagMaxSeconds,
    double? SiloCpuSeconds,
    double? SiloCpuMsPerSaga,
    double? PostgresCpuPercent,
    double? PostgresCpuSeconds,
    double? PostgresCpuMsPerSaga,
    double? BoxBusyPercent,
    double? LoadGeneratorCpuPercent,
    double? LoadGeneratorCpuSeconds)
{
    public WriteTimingSummary? Appends { get; init; }

    public WriteTimingSummary? ProviderAnswers { get; init; }

    /// <summary>The payment simulator's capture look-ups, grouped into statements as its answers are.</summary>
    public WriteTimingSummary? ProviderCaptureLooks { get; init; }

    /// <summary>
    /// POSTs the silos refused in the window as over their admission limit (<c>Admission:MaxRunningSagas</c>), each sent
    /// again after its Retry-After; null when a silo does not tell.
    /// </summary>
    public long? RefusedOrders { get; init; }

    /// <summary>WAL records the whole server wrote in the window (<c>pg_stat_wal.wal_records</c>).</summary>
    public long? WalRecords { get; init; }

    /// <summary>WAL bytes the whole server wrote in the window (<c>pg_stat_wal.wal_bytes</c>), full-page images included.</summary>
    public long? WalBytes { get; init; }

    /// <summary>The silos' garbage collector in the window, when they tell (<c>GET /silo/status</c>).</summary>
    public GcSummary? Gc { get; init; }

    /// <summary><see cref="WalRecords"/> per saga.</summary>
    public double? WalRecordsPerSaga { get; init; }

    /// <summary><see cref="WalBytes"/> per saga, in KiB.</summary>
    public double? WalKbPerSaga { get; init; }

    /// <summary>With the per-saga values for <paramref name="finishedInWindow"/> sagas; null where nothing was measured or no saga finished.</summary>
    public ServerMetrics PerSaga(double finishedInWindow)
    {
        return this with
        {
            CommitsPerSaga = Per(Commits, 1),
            WalSyncsPerSaga = Per(WalSyncs, 1),
            WalRecordsPerSaga = Per(WalRecords, 1),
            WalKbPerSaga = Per(WalBytes, 1 / 1024.0),
            SiloCpuMsPerSaga = Per(SiloCpuSeconds, 1000),
            PostgresCpuMsPerSaga = Per(PostgresCpuSeconds, 1000),
            Gc = Gc is null ? null : Gc with { AllocatedKbPerSaga = Per(Gc.AllocatedBytes, 1 / 1024.0) },
        };

        double? Per(double? amount, double scale) => amount is { } a && finishedInWindow > 0 ? Math.Round(a * scale / finishedInWindow, 2) : null;
    }
}
