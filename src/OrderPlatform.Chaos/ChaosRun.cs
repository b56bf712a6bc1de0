using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Npgsql;
using OrderPlatform.Contracts;
using OrderPlatform.EventStore.Migrations;
using OrderPlatform.KafkaMock;
using OrderPlatform.Processes;

namespace OrderPlatform.Chaos;

/// <summary>A silo did not come up (at the start or after a kill): the run cannot go on, and says which and why.</summary>
public sealed class SiloDidNotStartException(string message) : Exception(message);

public sealed record KillRecord(string Silo, DateTimeOffset At, int SagasInFlight, double? LastAffectedFinishedAfterSeconds);

/// <summary>A silo stopped with SIGSTOP for a while and let go on with SIGCONT, as a long GC pause or a stalled machine would.</summary>
public sealed record PauseRecord(string Silo, DateTimeOffset At, double Seconds);

/// <summary>A silo that exited without the runner ending it (a silo the cluster declared dead ends itself), with its last lines.</summary>
public sealed record UnexpectedExit(string Silo, DateTimeOffset At, int ExitCode, IReadOnlyList<string> LastLines);

public sealed record ChaosReport(
    int Seed,
    long OrdersSent,
    int OrdersAccepted,
    long ClientRetries,
    long ClientGaveUp,
    IReadOnlyDictionary<string, long> RetriedAnswers,
    IReadOnlyList<KillRecord> Kills,
    IReadOnlyList<PauseRecord> Pauses,
    IReadOnlyList<UnexpectedExit> UnexpectedExits,
    int Restarts,
    int BackendTerminations,
    int BrokerOutages,
    int ConsumerKills,
    double? RecoveryP50Seconds,
    double? RecoveryP99Seconds,
    double? RecoveryMaxSeconds,
    bool Quiesced,
    int CheckerExitCode);

/// <summary>
/// One chaos experiment: a fresh database, librdkafka's mock cluster, N silo processes and the consumer, orders
/// at a constant rate, faults on a schedule, then quiescence and the invariant checker.
/// </summary>
public sealed class ChaosRun(ChaosOptions options, string adminConnectionString, string repositoryRoot, string configuration) : IDisposable
{
    private readonly Random _random = new(options.Seed);

    // The silos' ports, drawn from numbers of the seed's too, so that a run's ports can be repeated.
    private readonly LoopbackPorts _ports = new(new Random(options.Seed));
    private readonly List<KillRecord> _kills = [];
    private readonly List<PauseRecord> _pauses = [];
    private readonly List<UnexpectedExit> _unexpectedExits = [];

    // Restarts run beside the fault schedules and the watch for silos that exit on their own: added to under its lock.
    private readonly List<Task> _restartsInFlight = [];

    // Each silo's latest restart, so that a silo is never started twice at once.
    private Task?[] _restarting = [];

    // Cancelled when a restarted silo does not come up: the load stops, and the run ends with that silo's failure.
    private readonly CancellationTokenSource _restartFailed = new();
    private int _restarts;
    private int _terminations;
    private int _brokerOutages;
    private int _consumerKills;

    public void Dispose()
    {
        _restartFailed.Dispose();
        _ports.Dispose();
    }

    // The load client draws from the same numbers on other threads, under the same lock.
    private int Draw(int count)
    {
        lock (_random)
        {
            return _random.Next(count);
        }
    }

    private static void Say(string line) => Console.WriteLine($"[{DateTime.UtcNow:HH:mm:ss.fff}] {line}");

    public async Task<ChaosReport> RunAsync()
    {
        // The time says when the run was; the seed tells two runs started in the same second apart.
        var database = $"chaos_{DateTime.UtcNow:yyyyMMddHHmmss}_{(uint)options.Seed}";
        await using (var admin = NpgsqlDataSource.Create(adminConnectionString))
        await using (var create = admin.CreateCommand($"create database {database}"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database }.ConnectionString;
        await using var db = NpgsqlDataSource.Create(connectionString);
        await new MigrationRunner(db).ApplyAsync();

        using var kafka = MockKafkaCluster.Create(brokers: 3);
        var topics = new KafkaTopics();
        foreach (var topic in topics.EventTopics.Append(topics.DeadLetter))
        {
            kafka.CreateTopic(topic, 6);
        }

        var logs = options.LogDirectory ?? Path.Combine(repositoryRoot, "TestResults", "chaos-logs");
        Directory.CreateDirectory(logs);
        Say($"seed {options.Seed}; database {database}; Kafka {kafka.BootstrapServers}; logs in {logs}");

        var clusterId = $"chaos-{options.Seed}";
        var silos = new List<ManagedProcess>();
        var urls = new List<Uri>();
        for (var i = 0; i < options.Silos; i++)
        {
            var (http, silo, gateway) = (_ports.Next(), _ports.Next(), _ports.Next());
            urls.Add(new Uri($"http://127.0.0.1:{http}"));
            var environment = new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = connectionString,
                ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
                ["Orleans__ClusterId"] = clusterId,
                ["Orleans__SiloPort"] = silo.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = gateway.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__OrderPlatform"] = "Information",
            };
            foreach (var (key, value) in options.SiloEnvironment)
            {
                environment[key] = value;
            }

            silos.Add(new ManagedProcess($"silo-{i + 1}", Dll("OrderPlatform.Host"), ["--urls", urls[^1].ToString()], environment, Path.Combine(logs, $"silo-{i + 1}.log")));
        }

        _restarting = new Task?[silos.Count];
        using var consumer = new ManagedProcess("consumer", Dll("OrderPlatform.Projections"), [], new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = connectionString,
            ["Kafka__BootstrapServers"] = kafka.BootstrapServers,
            ["Consumer__SessionTimeout"] = "00:00:06",
            ["Logging__LogLevel__Default"] = "Warning",
        }, Path.Combine(logs, "consumer.log"));

        try
        {
            foreach (var silo in silos)
            {
                silo.Start();
            }

            consumer.Start();
            for (var i = 0; i < silos.Count; i++)
            {
                await WaitForHealthAsync(silos[i], urls[i], TimeSpan.FromSeconds(90));
            }

            Say($"{silos.Count} silos up: {string.Join(", ", urls)}");
            var skus = Enumerable.Range(1, options.Skus).Select(i => $"CHAOS-{i}").ToArray();
            Say($"orders spread over {skus.Length} SKU(s); {skus[0]} runs out early");
            using var load = new LoadClient(urls, i => silos[i].IsRunning, skus, _random);
            await load.RestockAsync(quantity: 1_000_000, scarceQuantity: 200);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(_restartFailed.Token);
            var loadTask = load.RunAsync(options.Rate, TimeSpan.FromSeconds(options.DurationSeconds), options.MaxOrders, stop.Token)
                .ContinueWith(_ => stop.Cancel(), TaskScheduler.Default);
            var faults = new List<Task>
            {
                Every(options.KillEverySeconds, () => KillAndRestartSiloAsync(silos, urls, db), stop.Token),
                Every(options.TerminateBackendsEverySeconds, () => TerminateBackendsAsync(db, database), stop.Token),
                Every(options.BrokerDownEverySeconds, () => BrokerOutageAsync(kafka), stop.Token),
                Every(options.KillConsumerEverySeconds, () => KillConsumerAsync(consumer), stop.Token),
                Every(options.PauseEverySeconds, () => PauseSiloAsync(silos), stop.Token),
                RestartSilosThatExitAsync(silos, urls, stop.Token),
            };
            await loadTask;
            await Task.WhenAll(faults);
            Task[] restarts;
            lock (_restartsInFlight)
            {
                restarts = [.. _restartsInFlight];
            }

            await Task.WhenAll(restarts);
            foreach (var silo in silos.Where(s => !s.IsRunning))
            {
                NoteIfExitedOnItsOwn(silo);
                silo.Start();
                _restarts++;
            }

            var retried = load.RetriedAnswers.OrderBy(a => a.Key, StringComparer.Ordinal).ToDictionary(a => a.Key, a => a.Value);
            Say($"load stopped: {load.Sent} sent, {load.Accepted.Count} accepted, {load.ClientRetries} client retries"
                + (retried.Count == 0 ? "" : $" (after {string.Join(", ", retried.Select(a => $"{a.Key}: {a.Value}"))})")
                + $", {load.Failed} given up; waiting for quiescence");
            var quiesced = await QuiesceAsync(db, load.Accepted.Keys.ToList(), TimeSpan.FromSeconds(options.QuiesceTimeoutSeconds));
            await FillRecoveryAsync(db);
            var recoveries = await AffectedRecoverySecondsAsync(db);
            var checker = quiesced ? await RunCheckerAsync(connectionString, kafka.BootstrapServers) : 1;

            return new ChaosReport(
                options.Seed, load.Sent, load.Accepted.Count, load.ClientRetries, load.Failed, retried, [.. _kills], [.. _pauses], [.. _unexpectedExits], _restarts, _terminations, _brokerOutages, _consumerKills,
                Quantile(recoveries, 0.5), Quantile(recoveries, 0.99), recoveries.Count == 0 ? null : recoveries.Max(), quiesced, checker);
        }
        finally
        {
            foreach (var silo in silos)
            {
                silo.Dispose();
            }
        }
    }

    private static async Task Every(int seconds, Func<Task> fault, CancellationToken stop)
    {
        if (seconds <= 0)
        {
            return;
        }

        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(seconds), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await fault();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A fault that could not be injected is reported, not fatal: the run goes on.
                Say($"fault injection failed: {e.GetType().Name}: {e.Message}");
            }
        }
    }

    private async Task KillAndRestartSiloAsync(List<ManagedProcess> silos, List<Uri> urls, NpgsqlDataSource db)
    {
        var live = Enumerable.Range(0, silos.Count).Where(i => silos[i].IsRunning).ToList();
        if (live.Count <= 1)
        {
            return;
        }

        var victim = live[Draw(live.Count)];
        var inFlight = await ScalarAsync<long>(db, "select count(*) from sagas where not finished");
        silos[victim].Kill();
        var at = DateTimeOffset.UtcNow;
        _kills.Add(new KillRecord(silos[victim].Name, at, (int)inFlight, null));
        Say($"killed {silos[victim].Name} (SIGKILL) with {inFlight} sagas in flight");

        // The restart runs beside the schedule, so kills stay K seconds apart however long a start takes.
        RestartLater(silos, urls, victim);
    }

    /// <summary>Starts the silo again on its ports after the restart delay, beside whatever else runs, and waits for it to answer.</summary>
    private void RestartLater(List<ManagedProcess> silos, List<Uri> urls, int index)
    {
        var (silo, url) = (silos[index], urls[index]);
        var restart = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(options.RestartAfterSeconds), CancellationToken.None);
            silo.Start();
            Interlocked.Increment(ref _restarts);
            try
            {
                await WaitForHealthAsync(silo, url, TimeSpan.FromSeconds(90));
            }
            catch (SiloDidNotStartException)
            {
                await _restartFailed.CancelAsync();
                throw;
            }

            Say($"restarted {silo.Name}");
        }, CancellationToken.None);
        lock (_restartsInFlight)
        {
            _restartsInFlight.Add(restart);
            _restarting[index] = restart;
        }
    }

    /// <summary>
    /// Stops a random running silo with SIGSTOP and lets it go on with SIGCONT after the pause: no thread of it runs
    /// meanwhile, as in a long GC pause or on a stalled machine. The rest of the cluster should wait for it rather than
    /// declare it dead; whether it did shows in the exits the runner did not cause.
    /// </summary>
    private async Task PauseSiloAsync(List<ManagedProcess> silos)
    {
        var live = silos.Where(s => s.IsRunning).ToList();
        if (live.Count <= 1)
        {
            return;
        }

        var silo = live[Draw(live.Count)];
        var at = DateTimeOffset.UtcNow;
        if (!silo.Pause())
        {
            return;
        }

        _pauses.Add(new PauseRecord(silo.Name, at, options.PauseForSeconds));
        Say($"paused {silo.Name} (SIGSTOP) for {options.PauseForSeconds:0.0} s");
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(options.PauseForSeconds));
        }
        finally
        {
            silo.Resume();
        }

        Say($"resumed {silo.Name} (SIGCONT)");
    }

    /// <summary>
    /// Watches for silos that exit without the runner ending them, as a service manager would: each such exit is
    /// reported, with the silo's last lines, and the silo is started again after the restart delay.
    /// </summary>
    private async Task RestartSilosThatExitAsync(List<ManagedProcess> silos, List<Uri> urls, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            for (var i = 0; i < silos.Count; i++)
            {
                lock (_restartsInFlight)
                {
                    if (_restarting[i] is { IsCompleted: false })
                    {
                        continue;
                    }
                }

                if (NoteIfExitedOnItsOwn(silos[i]))
                {
                    RestartLater(silos, urls, i);
                }
            }
        }
    }

    /// <summary>Reports a silo that exited without the runner ending it, with its last lines; false when it did not.</summary>
    private bool NoteIfExitedOnItsOwn(ManagedProcess silo)
    {
        if (silo.UnexpectedExitCode is not { } exitCode)
        {
            return false;
        }

        var lastLines = silo.LastWords(6);
        _unexpectedExits.Add(new UnexpectedExit(silo.Name, DateTimeOffset.UtcNow, exitCode, lastLines));
        Say($"{silo.Name} exited on its own with code {exitCode}; restarting it. Its last lines:" + Quoted(lastLines));
        return true;
    }

    private async Task TerminateBackendsAsync(NpgsqlDataSource db, string database)
    {
        var terminated = await ScalarAsync<long>(db,
            $"select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where datname = '{database}' and pid <> pg_backend_pid()) t");
        _terminations++;
        Say($"terminated {terminated} PostgreSQL backends");
    }

    private async Task BrokerOutageAsync(MockKafkaCluster kafka)
    {
        var broker = 1 + Draw(kafka.BrokerCount);
        kafka.SetBrokerDown(broker);
        _brokerOutages++;
        Say($"Kafka broker {broker} down for {options.BrokerDownForSeconds} s");
        await Task.Delay(TimeSpan.FromSeconds(options.BrokerDownForSeconds));
        kafka.SetBrokerUp(broker);
        Say($"Kafka broker {broker} up");
    }

    private Task KillConsumerAsync(ManagedProcess consumer)
    {
        consumer.Kill();
        _consumerKills++;
        consumer.Start();
        Say("killed and restarted the consumer");
        return Task.CompletedTask;
    }

    /// <summary>Every accepted order's saga finished, the outbox is empty and the consumer has every published event.</summary>
    private static async Task<bool> QuiesceAsync(NpgsqlDataSource db, List<Guid> accepted, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                var unfinished = await ScalarAsync<long>(db, "select count(*) from sagas where not finished");
                var missing = accepted.Count - await ScalarAsync<long>(db, "select count(*) from sagas where order_id = any($1)", accepted.ToArray());
                var backlog = await ScalarAsync<long>(db, "select count(*) from outbox where published_at is null");
                var notConsumed = await ScalarAsync<long>(db,
                    "select count(*) from events e where e.stream_id not like 'saga-%' and not exists (select 1 from projections.inbox i where i.event_id = e.event_id)");
                if (unfinished == 0 && missing == 0 && backlog == 0 && notConsumed == 0)
                {
                    Say($"quiescent after {clock.Elapsed.TotalSeconds:0.0} s");
                    return true;
                }

                if (clock.Elapsed.TotalSeconds % 10 < 0.5)
                {
                    Say($"waiting: {unfinished} sagas unfinished, {missing} accepted orders without saga, {backlog} unpublished, {notConsumed} not consumed");
                }
            }
            catch (NpgsqlException)
            {
                // The consumer may not have created its schema yet.
            }

            await Task.Delay(500);
        }

        Say("did NOT quiesce in time");
        return false;
    }

    private async Task FillRecoveryAsync(NpgsqlDataSource db)
    {
        for (var i = 0; i < _kills.Count; i++)
        {
            var kill = _kills[i];
            var seconds = await ScalarAsync<double?>(db,
                "select extract(epoch from max(updated_at) - $1)::float8 from sagas where started_at < $1 and finished and updated_at >= $1",
                kill.At);
            _kills[i] = kill with { LastAffectedFinishedAfterSeconds = seconds };
        }
    }

    /// <summary>For every saga in flight at a kill: seconds from the kill to its completion.</summary>
    private async Task<List<double>> AffectedRecoverySecondsAsync(NpgsqlDataSource db)
    {
        var all = new List<double>();
        foreach (var kill in _kills)
        {
            await using var command = db.CreateCommand("select extract(epoch from updated_at - $1)::float8 from sagas where started_at < $1 and finished and updated_at >= $1");
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = kill.At });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                all.Add(reader.GetDouble(0));
            }
        }

        return all;
    }

    private async Task<int> RunCheckerAsync(string connectionString, string bootstrapServers)
    {
        var dll = Dll("OrderPlatform.InvariantChecker");
        var start = new ProcessStartInfo("dotnet", [dll, "--postgres", connectionString, "--kafka", bootstrapServers, "--consumer-schema", "projections"]) { UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the invariant checker.");
        await process.WaitForExitAsync();
        return process.ExitCode;
    }

    private string Dll(string project) =>
        Path.Combine(repositoryRoot, "src", project, "bin", configuration, "net10.0", project + ".dll") is var path && File.Exists(path)
            ? path
            : throw new FileNotFoundException($"Build {project} first (scripts/chaos.sh does).", path);

    /// <summary>
    /// Until the silo answers /health. A silo whose process exited on its own first fails the run at once, with its exit
    /// code; one the runner killed meanwhile (a kill may land on a silo still starting) is waited for, since its restart
    /// is due.
    /// </summary>
    private static async Task WaitForHealthAsync(ManagedProcess silo, Uri url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (silo.UnexpectedExitCode is { } exitCode)
            {
                throw new SiloDidNotStartException($"{silo.Name} exited with code {exitCode} before it answered {url}health; {LogEnding(silo)}");
            }

            try
            {
                if ((await http.GetAsync(new Uri(url, "/health"))).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        throw new SiloDidNotStartException($"{silo.Name} did not answer {url}health within {timeout}; {LogEnding(silo)}");
    }

    private static string LogEnding(ManagedProcess silo) =>
        $"see {silo.LogPath}, which ends:" + Quoted(silo.LastWords(12));

    /// <summary>A silo's lines as the runner quotes them: each on a line of its own, behind "  | ".</summary>
    private static string Quoted(IEnumerable<string> lines) => string.Concat(lines.Select(line => Environment.NewLine + "  | " + line));

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql, params object[] parameters)
    {
        await using var command = db.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        }

        var value = await command.ExecuteScalarAsync();
        return value is DBNull ? default! : (T)value!;
    }

    private static double? Quantile(List<double> values, double q)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static readonly JsonSerializerOptions ReportJson = new() { WriteIndented = true };

    public static string Describe(ChaosReport report) => JsonSerializer.Serialize(report, ReportJson);
}
