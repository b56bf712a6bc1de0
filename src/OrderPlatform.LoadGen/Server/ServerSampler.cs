using System.Text.Json;
using Npgsql;

namespace OrderPlatform.LoadGen.Server;

/// <summary>
/// Watches the platform while a run's measured window lasts: the silo processes' CPU time and memory, PostgreSQL's
/// CPU time and the machine's (/proc), the commits of the platform's database (pg_stat_database) and the relay status
/// of every target, once a second.
/// </summary>
internal sealed class ServerSampler(IReadOnlyList<int> siloPids, int? postgresPid, string? postgres, IReadOnlyList<Uri> targets, HttpClient http, TimeProvider time)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>Checks that what it was pointed at answers; the reason when it does not.</summary>
    public async Task<string?> ProblemAsync(CancellationToken cancellationToken)
    {
        if (siloPids.FirstOrDefault(pid => ProcessStats.CpuTime(pid) is null) is var missing and > 0)
        {
            return $"There is no process {missing} to watch (--silo-pid), or /proc cannot be read.";
        }

        if (postgresPid is { } postmaster && ProcessStats.TreeCpuTime(postmaster) is null)
        {
            return $"There is no process {postmaster} to watch (--postgres-pid), or /proc cannot be read.";
        }

        if (postgres is not null)
        {
            try
            {
                await CommitsAsync(cancellationToken).ConfigureAwait(false);
                await UnfinishedSagasAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException e)
            {
                return $"--postgres: {e.Message}";
            }
        }

        return null;
    }

    /// <summary>Waits up to <paramref name="limit"/> until the platform has no unfinished saga; the number left.</summary>
    public async Task<long> WaitUntilQuietAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        if (postgres is null)
        {
            return 0;
        }

        var start = time.GetTimestamp();
        while (true)
        {
            var unfinished = await UnfinishedSagasAsync(cancellationToken).ConfigureAwait(false);
            if (unfinished == 0 || time.GetElapsedTime(start) >= limit)
            {
                return unfinished;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Samples from <paramref name="warmup"/> after now for <paramref name="window"/>: a run's measured window, started with it.</summary>
    public async Task<ServerMetrics> SampleAsync(TimeSpan warmup, TimeSpan window, CancellationToken cancellationToken)
    {
        if (warmup > TimeSpan.Zero)
        {
            await Task.Delay(warmup, time, cancellationToken).ConfigureAwait(false);
        }

        var start = time.GetTimestamp();
        var cpuAtStart = CpuTime();
        var ownCpuAtStart = ProcessStats.CpuTime(Environment.ProcessId);
        var postgresCpuAtStart = PostgresCpuTime();
        var machineAtStart = MachineCpu.Read();
        var commitsAtStart = postgres is null ? (long?)null : await CommitsAsync(cancellationToken).ConfigureAwait(false);
        var walAtStart = postgres is null ? null : await WalAsync(cancellationToken).ConfigureAwait(false);
        var writesAtStart = await StatusCountsAsync(cancellationToken).ConfigureAwait(false);
        long? rssMax = null, backlogMax = null;
        double? lagMax = null;
        while (true)
        {
            if (ResidentBytes() is { } rss)
            {
                rssMax = Math.Max(rssMax ?? 0, rss);
            }

            foreach (var target in targets)
            {
                if (await RelayStatusAsync(target, cancellationToken).ConfigureAwait(false) is var (backlog, lag))
                {
                    backlogMax = Math.Max(backlogMax ?? 0, backlog);
                    lagMax = Math.Max(lagMax ?? 0, lag);
                }
            }

            var left = window - time.GetElapsedTime(start);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            await Task.Delay(left < Interval ? left : Interval, time, cancellationToken).ConfigureAwait(false);
        }

        var elapsed = time.GetElapsedTime(start);
        var siloCpu = CpuTime() - cpuAtStart;
        var ownCpu = ProcessStats.CpuTime(Environment.ProcessId) - ownCpuAtStart;
        var postgresCpu = PostgresCpuTime() - postgresCpuAtStart;
        var busy = MachineCpu.BusyPercent(machineAtStart, MachineCpu.Read());
        var commitsAtEnd = postgres is null ? (long?)null : await CommitsAsync(cancellationToken).ConfigureAwait(false);
        var walAtEnd = postgres is null ? null : await WalAsync(cancellationToken).ConfigureAwait(false);
        var writesAtEnd = await StatusCountsAsync(cancellationToken).ConfigureAwait(false);
        return new ServerMetrics(
            SiloCpuPercent: Percent(siloCpu),
            SiloRssMb: rssMax is { } bytes ? Math.Round(bytes / (1024.0 * 1024.0), 1) : null,
            Commits: commitsAtEnd - commitsAtStart,
            CommitsPerSaga: null,
            WalSyncs: walAtEnd?.Syncs - walAtStart?.Syncs,
            WalSyncsPerSaga: null,
            RelayBacklogMax: backlogMax,
            RelayLagMaxSeconds: lagMax,
            SiloCpuSeconds: siloCpu?.TotalSeconds,
            SiloCpuMsPerSaga: null,
            PostgresCpuPercent: Percent(postgresCpu),
            PostgresCpuSeconds: postgresCpu?.TotalSeconds,
            PostgresCpuMsPerSaga: null,
            BoxBusyPercent: busy,
            LoadGeneratorCpuPercent: Percent(ownCpu),
            LoadGeneratorCpuSeconds: ownCpu?.TotalSeconds)
        {
            Appends = Between(writesAtStart?.Appends, writesAtEnd?.Appends),
            ProviderAnswers = Between(writesAtStart?.ProviderAnswers, writesAtEnd?.ProviderAnswers),
            ProviderCaptureLooks = Between(writesAtStart?.ProviderCaptureLooks, writesAtEnd?.ProviderCaptureLooks),
            RefusedOrders = writesAtEnd?.Refused - writesAtStart?.Refused,
            WalRecords = walAtEnd?.Records - walAtStart?.Records,
            WalBytes = walAtEnd?.Bytes - walAtStart?.Bytes,
            Gc = writesAtStart?.Gc is { } gcAtStart && writesAtEnd?.Gc?.Since(gcAtStart) is { } gc ? GcSummary.Of(gc, elapsed) : null,
        };

        double? Percent(TimeSpan? cpu) => cpu is { } c ? Math.Round(c / elapsed * 100, 1) : null;

        static WriteTimingSummary? Between(WriteCounts? start, WriteCounts? end) =>
            start is not null && end?.Since(start) is { } counted ? WriteTimingSummary.Of(counted) : null;
    }

    private TimeSpan? CpuTime()
    {
        if (siloPids.Count == 0)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (var pid in siloPids)
        {
            if (ProcessStats.CpuTime(pid) is not { } cpu)
            {
                return null;
            }

            total += cpu;
        }

        return total;
    }

    /// <summary>The postmaster's with its backends', those that exited included (<see cref="ProcessStats.TreeCpuTime"/>).</summary>
    private TimeSpan? PostgresCpuTime() => postgresPid is { } pid ? ProcessStats.TreeCpuTime(pid) : null;

    private long? ResidentBytes()
    {
        if (siloPids.Count == 0)
        {
            return null;
        }

        long total = 0;
        foreach (var pid in siloPids)
        {
            if (ProcessStats.ResidentBytes(pid) is not { } rss)
            {
                return null;
            }

            total += rss;
        }

        return total;
    }

    /// <summary>The relay's outbox backlog and the age of its oldest unpublished event; null when off or not answering.</summary>
    private async Task<(long Backlog, double LagSeconds)?> RelayStatusAsync(Uri target, CancellationToken cancellationToken)
    {
        using var document = await GetJsonAsync(target, "relay/status", TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        if (document is null)
        {
            return null;
        }

        return ReadRelayStatus(document.RootElement);
    }

    /// <summary>The backlog and lag in a <c>/relay/status</c> answer; null when the relay is off or the answer is not as documented.</summary>
    internal static (long Backlog, double LagSeconds)? ReadRelayStatus(JsonElement status) =>
        status.ValueKind == JsonValueKind.Object
        && status.TryGetProperty("enabled", out var enabled) && enabled.ValueKind == JsonValueKind.True
        && status.TryGetProperty("backlog", out var backlog) && backlog.ValueKind == JsonValueKind.Number && backlog.TryGetInt64(out var count)
        && status.TryGetProperty("oldestUnpublishedAgeSeconds", out var age) && age.ValueKind == JsonValueKind.Number && age.TryGetDouble(out var seconds)
            ? (count, seconds)
            : null;

    /// <summary>
    /// The grouped appends, the payment simulator's answers and its capture look-ups of all targets so far, the orders
    /// they refused as over their admission limit, and their garbage collectors' counts (<c>GET /silo/status</c>); null
    /// where there are no targets or one does not answer, and each part null where one does not tell it.
    /// </summary>
    private async Task<(WriteCounts? Appends, WriteCounts? ProviderAnswers, WriteCounts? ProviderCaptureLooks, long? Refused, GcCounts? Gc)?> StatusCountsAsync(CancellationToken cancellationToken)
    {
        if (targets.Count == 0)
        {
            return null;
        }

        WriteCounts? appends = null, answers = null, looks = null;
        GcCounts? gc = null;
        long? refused = 0;
        bool appendsTold = true, answersTold = true, looksTold = true, gcTold = true;
        foreach (var target in targets)
        {
            using var document = await GetJsonAsync(target, "silo/status", TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(false);
            if (document is null)
            {
                return null;
            }

            appendsTold &= Add(ref appends, WriteCounts.FromStatus(document.RootElement, "appendTimings"));
            answersTold &= Add(ref answers, WriteCounts.FromStatus(document.RootElement, "providerAnswerTimings"));
            looksTold &= Add(ref looks, WriteCounts.FromStatus(document.RootElement, "providerCaptureLookTimings"));
            refused += ReadRefusedOrders(document.RootElement);
            if (GcCounts.FromStatus(document.RootElement) is { } counts)
            {
                gc = gc is null ? counts : gc.Plus(counts);
            }
            else
            {
                gcTold = false;
            }
        }

        return (appendsTold ? appends : null, answersTold ? answers : null, looksTold ? looks : null, refused, gcTold ? gc : null);

        static bool Add(ref WriteCounts? total, WriteCounts? counts)
        {
            if (counts is null)
            {
                return false;
            }

            total = total is null ? counts : total.Plus(counts);
            return true;
        }
    }

    /// <summary>The orders a <c>/silo/status</c> answer says the silo refused since it started; null when it does not say.</summary>
    internal static long? ReadRefusedOrders(JsonElement status) =>
        status.ValueKind == JsonValueKind.Object
        && status.TryGetProperty("sagas", out var sagas) && sagas.ValueKind == JsonValueKind.Object
        && sagas.TryGetProperty("refusedOrders", out var refused) && refused.ValueKind == JsonValueKind.Number && refused.TryGetInt64(out var count)
            ? count
            : null;

    /// <summary>A target's JSON answer at <paramref name="path"/>; null when it does not answer in time, fails, or sends no JSON.</summary>
    private async Task<JsonDocument?> GetJsonAsync(Uri target, string path, TimeSpan limit, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            using var response = await http.GetAsync(new Uri(target, path), timeout.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false))
                : null;
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task<long> CommitsAsync(CancellationToken cancellationToken) =>
        await ScalarAsync(OwnStatements.Tag + "select xact_commit from pg_stat_database where datname = current_database()", cancellationToken).ConfigureAwait(false);

    /// <summary>The server's WAL counters (pg_stat_wal); null where it has none (before PostgreSQL 14).</summary>
    private async Task<(long Syncs, long Records, long Bytes)?> WalAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(postgres);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(OwnStatements.Tag + "select wal_sync, wal_records, wal_bytes::bigint from pg_stat_wal", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
    }

    private async Task<long> UnfinishedSagasAsync(CancellationToken cancellationToken) =>
        await ScalarAsync(OwnStatements.Tag + "select count(*) from sagas where not finished", cancellationToken).ConfigureAwait(false);

    private async Task<long> ScalarAsync(string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(postgres);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
    }
}
