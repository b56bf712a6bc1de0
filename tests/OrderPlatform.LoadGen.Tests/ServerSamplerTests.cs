using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using OrderPlatform.LoadGen.Command;
using OrderPlatform.LoadGen.Server;
using OrderPlatform.LoadGen.Tests.Infrastructure;
using OrderPlatform.Metrics;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>What the sampler makes of a measured window: CPU shares, per-saga values, and a process it cannot watch.</summary>
public sealed class ServerSamplerTests
{
    // Above the kernel's largest pid (pid_max is at most 2^22): never a process.
    private const int NoProcess = int.MaxValue;

    [Fact]
    public void Per_saga_values_divide_the_windows_amounts_by_the_sagas_finished_in_it()
    {
        var metrics = new ServerMetrics(87.5, 412.3, 24_000, null, 6_000, null, 120, 0.8, 26.25, null, 40.1, 12.03, null, 63.2, 11.4, 3.42)
        {
            WalRecords = 365_000,
            WalBytes = 52_000_000,
        };

        Assert.Equal(
            metrics with
            {
                CommitsPerSaga = 8.04, WalSyncsPerSaga = 2.01, WalRecordsPerSaga = 122.28, WalKbPerSaga = 17.01, SiloCpuMsPerSaga = 8.79,
                PostgresCpuMsPerSaga = 4.03,
            },
            metrics.PerSaga(2985));
        Assert.Equal(metrics, metrics.PerSaga(0));
        var unwatched = metrics with { Commits = null, WalSyncs = null, WalRecords = null, WalBytes = null, SiloCpuSeconds = null, PostgresCpuSeconds = null };
        Assert.Equal(unwatched, unwatched.PerSaga(2985));
    }

    [Fact]
    public void A_silos_append_timings_are_read_from_its_status_differenced_and_summed_over_silos()
    {
        static string Status(long groups, long requests, int waitBucket, int writeBucket)
        {
            var waits = new long[DurationBuckets.Count];
            var writes = new long[DurationBuckets.Count];
            waits[waitBucket] = requests;
            writes[writeBucket] = requests;
            return JsonSerializer.Serialize(new { silo = "S127.0.0.1:11111:1", appendTimings = new { groups, requests, waits, writes } });
        }

        static WriteCounts Read(string json)
        {
            using var document = JsonDocument.Parse(json);
            return WriteCounts.FromStatus(document.RootElement, "appendTimings") ?? throw new InvalidOperationException($"not read: {json}");
        }

        var oneMs = DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(1));
        var tenMs = DurationBuckets.IndexOf(TimeSpan.FromMilliseconds(10));
        var before = Read(Status(10, 30, 0, oneMs));
        var after = Read(Status(40, 130, 0, oneMs)).Plus(Read(Status(0, 0, 0, 0)));
        var other = Read(Status(25, 25, oneMs, tenMs));

        var window = WriteTimingSummary.Of(after.Since(before)!.Plus(other));

        Assert.Equal(125, window.Requests);
        Assert.Equal(55, window.Groups);
        Assert.Equal(2.27, window.RequestsPerGroup);
        Assert.Equal(Math.Round(DurationBuckets.UpperBoundMilliseconds(0), 3), window.WaitP50Ms);
        Assert.Equal(Math.Round(DurationBuckets.UpperBoundMilliseconds(oneMs), 3), window.WaitP99Ms);
        Assert.Equal(Math.Round(DurationBuckets.UpperBoundMilliseconds(oneMs), 3), window.WriteP50Ms);
        Assert.Equal(Math.Round(DurationBuckets.UpperBoundMilliseconds(tenMs), 3), window.WriteP90Ms);

        // A silo that restarted in the window counts from zero again: no difference is made of it.
        Assert.Null(Read(Status(5, 5, 0, oneMs)).Since(before));
        Assert.Equal(new WriteTimingSummary(0, 0, null, null, null, null, null, null, null), WriteTimingSummary.Of(before.Since(before)!));

        // Each kind of write is read from its own property.
        using var status = JsonDocument.Parse(Status(10, 30, 0, oneMs));
        Assert.Null(WriteCounts.FromStatus(status.RootElement, "providerAnswerTimings"));
        Assert.Null(WriteCounts.FromStatus(status.RootElement, "providerCaptureLookTimings"));
    }

    [Theory]
    [InlineData("""{"silo":"S1"}""")]
    [InlineData("""{"appendTimings":{"groups":1,"requests":1,"waits":[1,2],"writes":[1,2]}}""")]
    [InlineData("""{"appendTimings":{"groups":"many","requests":1}}""")]
    [InlineData("""{"appendTimings":{"groups":-1,"requests":1,"waits":[],"writes":[]}}""")]
    [InlineData("""[1,2,3]""")]
    public void A_status_without_readable_append_timings_gives_none(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Null(WriteCounts.FromStatus(document.RootElement, "appendTimings"));
    }

    [Fact]
    public void A_silos_garbage_collector_counts_are_read_from_its_status_differenced_summed_and_made_per_saga()
    {
        static GcCounts Read(long allocated, double pause, long gen0, long gen1, long gen2)
        {
            var json = JsonSerializer.Serialize(new
            {
                silo = "S1", gcAllocatedBytes = allocated, gcPauseSeconds = pause, gen0Collections = gen0, gen1Collections = gen1, gen2Collections = gen2,
            });
            using var document = JsonDocument.Parse(json);
            return GcCounts.FromStatus(document.RootElement) ?? throw new InvalidOperationException($"not read: {json}");
        }

        var before = Read(1_000_000, 1.5, 100, 10, 1).Plus(Read(500_000, 0.5, 50, 5, 1));
        var after = Read(481_000_000, 1.8, 300, 14, 1).Plus(Read(240_500_000, 0.6, 150, 7, 1));

        var window = GcSummary.Of(after.Since(before)!, TimeSpan.FromSeconds(20));

        Assert.Equal(new GcSummary(720_000_000, null, 2, 300, 6, 0), window with { PausedPercent = Math.Round(window.PausedPercent, 6) });
        var metrics = new ServerMetrics(87.5, 412.3, 24_000, null, 6_000, null, 120, 0.8, 26.25, null, 40.1, 12.03, null, 63.2, 11.4, 3.42) { Gc = window };
        Assert.Equal(234.38, metrics.PerSaga(3000).Gc!.AllocatedKbPerSaga);
        Assert.Null(metrics.PerSaga(0).Gc!.AllocatedKbPerSaga);

        // A silo that restarted in the window counts from zero again: no difference is made of it.
        Assert.Null(Read(2_000_000, 0.1, 5, 0, 0).Since(before));
    }

    [Theory]
    [InlineData("""{"silo":"S1"}""")]
    [InlineData("""{"gcAllocatedBytes":1,"gcPauseSeconds":0.1,"gen0Collections":1,"gen1Collections":1}""")]
    [InlineData("""{"gcAllocatedBytes":"1","gcPauseSeconds":0.1,"gen0Collections":1,"gen1Collections":1,"gen2Collections":0}""")]
    [InlineData("""{"gcAllocatedBytes":1,"gcPauseSeconds":-0.1,"gen0Collections":1,"gen1Collections":1,"gen2Collections":0}""")]
    [InlineData("""{"gcAllocatedBytes":1.5,"gcPauseSeconds":0.1,"gen0Collections":1,"gen1Collections":1,"gen2Collections":0}""")]
    [InlineData("""[1,2,3]""")]
    public void A_status_without_readable_garbage_collector_counts_gives_none(string json)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Null(GcCounts.FromStatus(document.RootElement));
    }

    [Theory]
    [InlineData("""{"sagas":{"running":3,"admissionLimit":1000,"refusedOrders":42}}""", 42L)]
    [InlineData("""{"sagas":{"running":3,"admissionLimit":1000,"refusedOrders":0}}""", 0L)]
    [InlineData("""{"sagas":{"running":3}}""", null)]
    [InlineData("""{"sagas":{"refusedOrders":"42"}}""", null)]
    [InlineData("""{"silo":"S1"}""", null)]
    [InlineData("""[1,2,3]""", null)]
    public void The_orders_a_silo_refused_are_read_from_its_status_when_it_tells(string json, long? refused)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(refused, ServerSampler.ReadRefusedOrders(document.RootElement));
    }

    [Theory]
    [InlineData("""{"enabled":true,"backlog":12,"oldestUnpublishedAgeSeconds":0.25}""", 12L, 0.25)]
    [InlineData("""{"enabled":false,"backlog":12,"oldestUnpublishedAgeSeconds":0.25}""", null, null)]
    [InlineData("""{"enabled":true,"backlog":"12","oldestUnpublishedAgeSeconds":0.25}""", null, null)]
    [InlineData("""{"enabled":true,"backlog":12,"oldestUnpublishedAgeSeconds":null}""", null, null)]
    [InlineData("""{"enabled":true,"backlog":1.5,"oldestUnpublishedAgeSeconds":0.25}""", null, null)]
    [InlineData("""["enabled"]""", null, null)]
    public void A_relay_status_gives_its_backlog_and_lag_only_when_on_and_as_documented(string json, long? backlog, double? lag)
    {
        using var document = JsonDocument.Parse(json);

        Assert.Equal(backlog is { } b && lag is { } l ? (b, l) : null, ServerSampler.ReadRelayStatus(document.RootElement));
    }

    [Fact]
    public async Task A_windows_cpu_is_in_percent_of_one_core_over_its_length_with_the_machines_busy_share_and_the_load_generators_own()
    {
        var time = new SteppedTime();
        using var http = new HttpClient();
        // This process as the silo and as the postmaster: its tree holds at least its own time. It is the load
        // generator's process too.
        var sampler = new ServerSampler([Environment.ProcessId], Environment.ProcessId, null, [], http, time);

        var sampling = sampler.SampleAsync(TimeSpan.Zero, TimeSpan.FromSeconds(2), CancellationToken.None);
        var first = await time.NextTimerAsync("the sampler's first wait between samples");
        var own = ProcessStats.CpuTime(Environment.ProcessId);
        while (ProcessStats.CpuTime(Environment.ProcessId) - own < TimeSpan.FromSeconds(0.1))
        {
            // Spin: CPU the window must see.
        }

        time.Advance(first);
        time.Advance(await time.NextTimerAsync("the sampler's second wait"));
        var metrics = await sampling;

        Assert.True(metrics.SiloCpuSeconds >= 0.1, $"silo CPU: {metrics}");
        Assert.Equal(Math.Round(metrics.SiloCpuSeconds!.Value / 2 * 100, 1), metrics.SiloCpuPercent);
        Assert.True(metrics.PostgresCpuSeconds >= 0.1, $"PostgreSQL CPU: {metrics}");
        Assert.Equal(Math.Round(metrics.PostgresCpuSeconds!.Value / 2 * 100, 1), metrics.PostgresCpuPercent);
        Assert.InRange(metrics.BoxBusyPercent ?? -1, 0.1, 100);
        Assert.True(metrics.LoadGeneratorCpuSeconds >= 0.1, $"load generator CPU: {metrics}");
        Assert.Equal(Math.Round(metrics.LoadGeneratorCpuSeconds!.Value / 2 * 100, 1), metrics.LoadGeneratorCpuPercent);
        Assert.Null(metrics.Commits);
    }

    [Fact]
    public async Task A_postgres_pid_that_is_no_process_is_named()
    {
        using var http = new HttpClient();

        var missing = new ServerSampler([], NoProcess, null, [], http, TimeProvider.System);
        var running = new ServerSampler([Environment.ProcessId], Environment.ProcessId, null, [], http, TimeProvider.System);

        Assert.Equal($"There is no process {NoProcess} to watch (--postgres-pid), or /proc cannot be read.", await missing.ProblemAsync(CancellationToken.None));
        Assert.Null(await running.ProblemAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_postgres_pid_that_is_no_process_stops_the_command_before_any_order()
    {
        var target = $"http://127.0.0.1:{PostgresServer.FreePort()}/";
        using var listener = new HttpListener();
        listener.Prefixes.Add(target);
        listener.Start();
        var paths = new ConcurrentQueue<string>();
        var serving = AnswerEverythingAsync(listener, paths);
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var exitCode = await LoadCommand.RunAsync(
            ["--target", target, "--rate", "5", "--duration", "1", "--postgres-pid", NoProcess.ToString(CultureInfo.InvariantCulture)],
            output,
            errors,
            CancellationToken.None);
        listener.Stop();
        await serving;

        Assert.Equal(LoadCommand.CouldNotRun, exitCode);
        Assert.Equal($"There is no process {NoProcess} to watch (--postgres-pid), or /proc cannot be read.", errors.ToString().Trim());
        Assert.Equal("", output.ToString());
        Assert.Equal(["/health"], paths);
    }

    private static async Task AnswerEverythingAsync(HttpListener listener, ConcurrentQueue<string> paths)
    {
        try
        {
            while (true)
            {
                var context = await listener.GetContextAsync();
                paths.Enqueue(context.Request.Url!.AbsolutePath);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
        {
            // Stopped.
        }
    }
}
