using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using OrderPlatform.EventStore.Events;
using OrderPlatform.EventStore.Migrations;
using OrderPlatform.KafkaMock;
using OrderPlatform.Relay;

namespace OrderPlatform.Benchmarks;

/// <summary>
/// Relay throughput draining a backlog, commit-to-acknowledgement latency at a steady append rate, and the
/// downstream consumer's throughput, against librdkafka's mock cluster and a real PostgreSQL.
/// </summary>
public static class RelayBenchmark
{
    public static async Task<int> RunAsync(string adminConnectionString, int backlogEvents, int steadyRate, TimeSpan steadyFor)
    {
        var database = $"relay_bench_{DateTime.UtcNow:yyyyMMddHHmmss}";
        await using (var admin = NpgsqlDataSource.Create(adminConnectionString))
        await using (var create = admin.CreateCommand($"create database {database}"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database, MaxPoolSize = 50 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await new MigrationRunner(dataSource).ApplyAsync();

        using var kafka = MockKafkaCluster.Create(brokers: 3);
        var kafkaOptions = new KafkaOptions { BootstrapServers = kafka.BootstrapServers, TopicPartitions = 6 };
        foreach (var topic in kafkaOptions.Topics.EventTopics.Append(kafkaOptions.Topics.DeadLetter))
        {
            kafka.CreateTopic(topic, 6);
        }

        Console.WriteLine($"database {database}, mock Kafka {kafka.BootstrapServers} (3 brokers, 6 partitions per topic)");

        // 1. A backlog drained from a standing start.
        var streams = Math.Max(1, backlogEvents / 25);
        await SeedBacklogAsync(dataSource, backlogEvents, streams);
        await TimeBacklogCountsAsync(dataSource, backlogEvents);
        var lags = new List<double>();
        using var listener = ListenToLag(lags);
        using var metrics = new RelayMetrics();
        var relayOptions = new RelayOptions { PollInterval = TimeSpan.FromMilliseconds(50), BatchSize = 1000 };
        using var relay = new OutboxRelay(dataSource, Options.Create(kafkaOptions), Options.Create(relayOptions), metrics, TimeProvider.System, NullLogger<OutboxRelay>.Instance);
        var drain = Stopwatch.StartNew();
        await relay.StartAsync(CancellationToken.None);
        await WaitForEmptyOutboxAsync(dataSource, TimeSpan.FromMinutes(10));
        drain.Stop();
        Console.WriteLine($"relay drain:    {backlogEvents,8} events in {drain.Elapsed.TotalSeconds,6:0.00} s = {backlogEvents / drain.Elapsed.TotalSeconds,8:0} events/s");

        // 2. Steady appends at a fixed rate while the relay keeps up: commit → broker acknowledgement.
        lock (lags)
        {
            lags.Clear();
        }

        var store = new PostgresEventStore(dataSource, TimeProvider.System);
        var appended = await AppendSteadilyAsync(store, steadyRate, steadyFor);
        await WaitForEmptyOutboxAsync(dataSource, TimeSpan.FromMinutes(2));
        listener.RecordObservableInstruments();
        List<double> steady;
        lock (lags)
        {
            steady = [.. lags];
        }

        Console.WriteLine(
            $"relay steady:   {appended,8} events at {steadyRate} events/s for {steadyFor.TotalSeconds:0} s: commit-to-ack p50 {Percentiles.Of(steady, 0.50):0.0} ms, " +
            $"p99 {Percentiles.Of(steady, 0.99):0.0} ms, max {Percentiles.Of(steady, 1.0):0.0} ms");
        await relay.StopAsync(CancellationToken.None);

        // 3. The downstream consumer process reading everything from the beginning.
        var total = backlogEvents + appended;
        var consumer = Stopwatch.StartNew();
        using (var process = StartConsumer(connectionString, kafka.BootstrapServers))
        {
            await WaitForInboxAsync(dataSource, total, TimeSpan.FromMinutes(10), process);
            consumer.Stop();
            process.Kill(entireProcessTree: true);
        }

        Console.WriteLine($"consumer:       {total,8} events in {consumer.Elapsed.TotalSeconds,6:0.00} s = {total / consumer.Elapsed.TotalSeconds,8:0} events/s (including process start and group join)");
        return 0;
    }

    private static MeterListener ListenToLag(List<double> into)
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RelayMetrics.MeterName && instrument.Name == "orderplatform.relay.publish_lag")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) =>
        {
            lock (into)
            {
                into.Add(value);
            }
        });
        listener.Start();
        return listener;
    }

    private static async Task SeedBacklogAsync(NpgsqlDataSource dataSource, int events, int streams)
    {
        // Set-based, so seeding is not what is measured: stock streams with restock events, and their outbox rows.
        await using var command = dataSource.CreateCommand(
            """
            with appended as (
                insert into events (stream_id, version, event_id, event_type, schema_version, data, metadata, recorded_at)
                select 'stock-bench-' || (n % $2), n / $2 + 1, gen_random_uuid(), 'stock.restocked', 1, '{"quantity": 1}', '{}', now()
                from generate_series(0, $1 - 1) n
                returning global_position, stream_id, version
            )
            insert into outbox (global_position, stream_id, version, aggregate_type, created_at)
            select global_position, stream_id, version, 'stock', now() from appended order by global_position
            """);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = events });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = streams });
        command.CommandTimeout = 600;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// What the relay's backlog metric costs the database at this backlog, taken every poll interval on every silo: the
    /// bounded count it takes (<see cref="OutboxStore.BacklogAsync"/> at the default limit) beside a count of every
    /// unpublished row, alternating, medians of seven.
    /// </summary>
    private static async Task TimeBacklogCountsAsync(NpgsqlDataSource dataSource, int backlogEvents)
    {
        var limit = new RelayOptions().BacklogCountLimit;
        var outbox = new OutboxStore(dataSource);
        var bounded = new List<double>();
        var full = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var clock = Stopwatch.StartNew();
            await outbox.BacklogAsync(limit, CancellationToken.None);
            bounded.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            await using var command = dataSource.CreateCommand("select count(*), min(created_at) from outbox where published_at is null");
            command.CommandTimeout = 600;
            await command.ExecuteScalarAsync();
            full.Add(clock.Elapsed.TotalMilliseconds);
        }

        var (b, f) = (Percentiles.Of(bounded, 0.5), Percentiles.Of(full, 0.5));
        Console.WriteLine($"backlog metric: {backlogEvents,8} rows waiting: counted up to {limit} {b,8:0.00} ms, every row {f,8:0.00} ms (medians of 7; every row / bounded {f / b:0.0}x)");
    }

    private static async Task<int> AppendSteadilyAsync(PostgresEventStore store, int rate, TimeSpan duration)
    {
        // Open loop: one append per tick on its own stream, whatever the previous one is doing.
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var clock = Stopwatch.StartNew();
        var pending = new List<Task>();
        var count = 0;
        while (clock.Elapsed < duration)
        {
            var due = interval * count;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            var stream = $"stock-steady-{count}";
            pending.Add(store.AppendAsync(stream, "stock", 0, [new EventToAppend(Guid.NewGuid(), "stock.restocked", 1, """{"quantity": 1}""", "{}")]));
            count++;
        }

        await Task.WhenAll(pending);
        return count;
    }

    private static async Task WaitForEmptyOutboxAsync(NpgsqlDataSource dataSource, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            // Whether any row waits, not how many: a count every few milliseconds would read the whole backlog each time and
            // slow the drain it measures.
            await using var command = dataSource.CreateCommand("select not exists (select from outbox where published_at is null)");
            if ((bool)(await command.ExecuteScalarAsync())!)
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The outbox did not drain within {timeout}.");
            }

            await Task.Delay(20);
        }
    }

    private static async Task WaitForInboxAsync(NpgsqlDataSource dataSource, int events, TimeSpan timeout, Process consumer)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await using var command = dataSource.CreateCommand("select count(*) from projections.inbox");
                if ((long)(await command.ExecuteScalarAsync())! >= events)
                {
                    return;
                }
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
            {
                // The consumer has not created its schema yet.
            }

            if (consumer.HasExited)
            {
                throw new InvalidOperationException($"The consumer exited with {consumer.ExitCode}.");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"The consumer did not apply {events} events within {timeout}.");
            }

            await Task.Delay(50);
        }
    }

    private static Process StartConsumer(string connectionString, string bootstrapServers)
    {
        // This harness runs from src/OrderPlatform.Benchmarks/bin/<configuration>/net10.0/.
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/')))!;
        var dll = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "OrderPlatform.Projections", "bin", configuration, "net10.0", "OrderPlatform.Projections.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build the consumer first (scripts/bench-relay.sh does).", Path.GetFullPath(dll));
        }

        var start = new ProcessStartInfo("dotnet", [Path.GetFullPath(dll)]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["Kafka__BootstrapServers"] = bootstrapServers;
        start.Environment["Consumer__GroupId"] = $"bench-{Guid.NewGuid():N}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the consumer.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
