namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// The platform's side of a run's measured window, when the command was told where to look: silo CPU (percent of
/// one core, summed over the silo processes) and peak resident memory, PostgreSQL commits in the platform's
/// database (read-only transactions count too), the server's WAL flushes (<c>pg_stat_wal.wal_sync</c>, the durable
/// commits after group commit; the whole server), and the outbox relay's peak backlog and lag as
/// <c>GET /relay/status</c> reports them.
/// </summary>
internal sealed record ServerMetrics(
    double? SiloCpuPercent,
    double? SiloRssMb,
    long? Commits,
    double? CommitsPerSaga,
    long? WalSyncs,
    double? WalSyncsPerSaga,
    long? RelayBacklogMax,
    double? RelayLagMaxSeconds);
