using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using OrderPlatform.LoadGen.Command;
using OrderPlatform.LoadGen.Scheduling;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>The generator in this process against a real silo process and a real PostgreSQL, for a few seconds.</summary>
public sealed class AgainstARealSiloTests : IAsyncLifetime
{
    private string _connectionString = "";
    private SiloProcess _silo = null!;

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.InstanceAsync();
        _connectionString = await server.CreateDatabaseAsync("loadgen");
        _silo = await SiloProcess.StartAsync(_connectionString, $"loadgen-{Guid.NewGuid():N}"[..20]);
    }

    public async Task DisposeAsync()
    {
        if (_silo is not null)
        {
            await _silo.DisposeAsync();
        }
    }

    [Fact]
    public async Task Every_order_sent_reaches_its_terminal_state_and_the_report_counts_each_once()
    {
        var postmaster = await PostmasterPidAsync();
        var (report, output) = await RunCleanlyAsync(
            "--rate", "20", "--duration", "3", "--warmup", "1", "--skus", "3", "--sku-prefix", "it-sku", "--restock", "1000",
            "--token", "tok_approve,tok_decline", "--completion-timeout", "15",
            "--silo-pid", _silo.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--postgres", _connectionString, "--commit-ceiling", "1000", "--postgres-pid", postmaster.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var run = Assert.Single(report.GetProperty("runs").EnumerateArray());

        // Orders 20 to 79 are due in the measured window (1 s to 4 s at 20/s); even ones approve, odd ones are declined.
        var schedule = new ArrivalSchedule(20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        var measured = Enumerable.Range((int)schedule.FirstMeasured, (int)schedule.MeasuredCount).ToList();
        var approved = measured.Count(n => n % 2 == 0);
        Assert.Equal(60, measured.Count);
        Assert.Equal(measured.Count, run.GetProperty("sent").GetInt64());
        Assert.True(run.GetProperty("sagasPerSecond").GetDouble() > 0, $"no saga finished in the measured window, so nothing per saga can be checked:\n{output}");
        Assert.Equal(measured.Count, run.GetProperty("finished").GetInt64());
        Assert.Equal(0, run.GetProperty("errors").GetInt64());
        Assert.Equal(approved, run.GetProperty("outcomes").GetProperty("Completed").GetInt64());
        Assert.Equal(measured.Count - approved, run.GetProperty("outcomes").GetProperty("Cancelled").GetInt64());

        // By default each order's POST waits for its end (Prefer: wait) and its 201 brings it: no order needed a read.
        Assert.Equal("post", report.GetProperty("settings").GetProperty("waitIn").GetString());
        Assert.Equal(measured.Count, run.GetProperty("endedWithPost").GetInt64());
        var latency = run.GetProperty("latency");
        Assert.Equal(run.GetProperty("finished").GetInt64(), latency.GetProperty("count").GetInt64());
        Assert.InRange(latency.GetProperty("p50").GetDouble(), 0.001, 15_000);
        Assert.InRange(latency.GetProperty("max").GetDouble(), latency.GetProperty("p99").GetDouble(), 15_000);
        Assert.InRange(run.GetProperty("postLatency").GetProperty("p50").GetDouble(), 0.001, latency.GetProperty("max").GetDouble());
        Assert.True(run.GetProperty("maxInFlight").GetInt32() >= 1);
        Assert.Contains(" 20 ", output, StringComparison.Ordinal);

        // What the platform did meanwhile: this silo's CPU and memory, the database's commits; no relay without Kafka.
        var server = run.GetProperty("server");
        Assert.InRange(server.GetProperty("siloCpuPercent").GetDouble(), 0.1, 800);
        Assert.InRange(server.GetProperty("siloRssMb").GetDouble(), 10, 10_000);
        Assert.True(server.GetProperty("commits").GetInt64() > 0, $"commits: {server}");
        Assert.True(server.GetProperty("commitsPerSaga").GetDouble() > 1, $"commits per saga: {server}");
        Assert.True(server.GetProperty("walSyncs").GetInt64() >= 0, $"WAL syncs: {server}");
        // Every order writes rows, so the server wrote WAL for each: records and bytes, per saga too.
        Assert.True(server.GetProperty("walRecordsPerSaga").GetDouble() > 1, $"WAL records per saga: {server}");
        Assert.InRange(server.GetProperty("walKbPerSaga").GetDouble(), 0.1, 100_000);
        Assert.True(server.GetProperty("walBytes").GetInt64() > server.GetProperty("walRecords").GetInt64(), $"WAL bytes: {server}");
        Assert.Equal(JsonValueKind.Null, server.GetProperty("relayBacklogMax").ValueKind);

        // The silo's appends in the window, from its status: at least one per order, in no more statements than appends,
        // and each append's time split into waiting for its statement and the statement with its commit.
        var appends = server.GetProperty("appends");
        Assert.InRange(appends.GetProperty("requests").GetInt64(), measured.Count / 2, 100_000);
        Assert.InRange(appends.GetProperty("groups").GetInt64(), 1, appends.GetProperty("requests").GetInt64());
        Assert.InRange(appends.GetProperty("waitP50Ms").GetDouble(), 0, appends.GetProperty("waitP99Ms").GetDouble());
        Assert.InRange(appends.GetProperty("writeP50Ms").GetDouble(), 0.001, appends.GetProperty("writeP99Ms").GetDouble());
        Assert.Contains("the silos' appends: ", output, StringComparison.Ordinal);

        // The payment simulator's answers likewise: an authorization for every order, a capture for each approved one.
        var answers = server.GetProperty("providerAnswers");
        Assert.InRange(answers.GetProperty("requests").GetInt64(), measured.Count / 4, appends.GetProperty("requests").GetInt64());
        Assert.InRange(answers.GetProperty("groups").GetInt64(), 1, answers.GetProperty("requests").GetInt64());
        Assert.InRange(answers.GetProperty("writeP50Ms").GetDouble(), 0.001, answers.GetProperty("writeP99Ms").GetDouble());
        Assert.Contains("the payment simulator's answers: ", output, StringComparison.Ordinal);

        // CPU: PostgreSQL's (the postmaster and its backends), the machine's, and per saga finished in the window.
        var finishedInWindow = run.GetProperty("sagasPerSecond").GetDouble() * 3;
        Assert.InRange(server.GetProperty("postgresCpuPercent").GetDouble(), 0.1, 800);
        Assert.InRange(server.GetProperty("boxBusyPercent").GetDouble(), 0.1, 100);
        Assert.InRange(server.GetProperty("loadGeneratorCpuPercent").GetDouble(), 0.1, 800);
        Assert.Equal(Math.Round(server.GetProperty("siloCpuSeconds").GetDouble() * 1000 / finishedInWindow, 2), server.GetProperty("siloCpuMsPerSaga").GetDouble());
        Assert.Equal(Math.Round(server.GetProperty("postgresCpuSeconds").GetDouble() * 1000 / finishedInWindow, 2), server.GetProperty("postgresCpuMsPerSaga").GetDouble());
        Assert.True(server.GetProperty("postgresCpuMsPerSaga").GetDouble() > 0, $"PostgreSQL CPU per saga: {server}");
        Assert.Contains("pg CPU %", output, StringComparison.Ordinal);
        Assert.Equal(Math.Round(run.GetProperty("sagasPerSecond").GetDouble() / 1000, 3), run.GetProperty("shareOfCommitCeiling").GetDouble());

        // Where the completed orders' time went, read from the commits of their milestones: five stages and the whole,
        // over every completed order of the window. No stage of an order outlasts the whole, and the whole (commit to
        // commit) is inside what the client measured (from before the POST to after the last commit).
        var stages = run.GetProperty("stages").EnumerateArray().ToList();
        Assert.Equal(6, stages.Count);
        Assert.All(stages, s => Assert.Equal(approved, s.GetProperty("latency").GetProperty("count").GetInt64()));
        var whole = stages[^1].GetProperty("latency");
        Assert.Equal("start -> completed", stages[^1].GetProperty("stage").GetString());
        Assert.True(whole.GetProperty("p50").GetDouble() > 0, $"stages: {run.GetProperty("stages")}");
        Assert.All(stages, s => Assert.InRange(s.GetProperty("latency").GetProperty("max").GetDouble(), 0, whole.GetProperty("max").GetDouble()));
        Assert.InRange(whole.GetProperty("max").GetDouble(), 0, latency.GetProperty("max").GetDouble());
        Assert.Contains("where the completed orders' time went", output, StringComparison.Ordinal);

        // The platform's own record agrees: every order of the run (warm-up included) has a finished saga with that
        // outcome, besides the one completed order placed before the run.
        var outcomes = await SagaOutcomesAsync();
        Assert.False(outcomes.ContainsKey("unfinished"), $"sagas by outcome: {string.Join(", ", outcomes)}");
        Assert.Equal(schedule.Count + 1, outcomes.Values.Sum());
        Assert.Equal(((schedule.Count + 1) / 2) + 1, outcomes.GetValueOrDefault("Completed"));
        Assert.Equal(schedule.Count / 2, outcomes.GetValueOrDefault("Cancelled"));
    }

    [Fact]
    public async Task Orders_followed_with_reads_after_their_posts_reach_their_ends_too()
    {
        var (report, _) = await RunCleanlyAsync(
            "--rate", "10", "--duration", "2", "--warmup", "1", "--skus", "2", "--sku-prefix", "get-sku", "--restock", "1000",
            "--token", "tok_approve,tok_decline", "--completion-timeout", "15", "--wait-in", "get");
        Assert.Equal("get", report.GetProperty("settings").GetProperty("waitIn").GetString());
        var run = Assert.Single(report.GetProperty("runs").EnumerateArray());

        // 20 orders due in the window, each answered 202 and read until its end: none ended with its POST.
        Assert.Equal(20, run.GetProperty("sent").GetInt64());
        Assert.Equal(20, run.GetProperty("finished").GetInt64());
        Assert.Equal(0, run.GetProperty("endedWithPost").GetInt64());
        Assert.Equal(10, run.GetProperty("outcomes").GetProperty("Completed").GetInt64());
        Assert.Equal(10, run.GetProperty("outcomes").GetProperty("Cancelled").GetInt64());

        // The POST's answer (the 202) came before the order's end.
        Assert.True(
            run.GetProperty("postLatency").GetProperty("p50").GetDouble() < run.GetProperty("latency").GetProperty("p50").GetDouble(),
            $"POST p50 {run.GetProperty("postLatency")} against the end's {run.GetProperty("latency")}");
    }

    [Fact]
    public async Task A_target_that_does_not_answer_stops_the_command_before_any_order()
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();
        var silent = $"http://127.0.0.1:{PostgresServer.FreePort()}";

        var exitCode = await LoadCommand.RunAsync(["--target", $"{_silo.Http.BaseAddress},{silent}", "--rate", "5", "--duration", "1"], output, errors, CancellationToken.None);

        Assert.Equal(LoadCommand.CouldNotRun, exitCode);
        Assert.Contains($"The target {silent}/ does not answer GET /health.", errors.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// After <see cref="OneOrderAsync"/>, runs the command against the silo with these arguments and a JSON report; asserts
    /// it exits clean and returns the report and what it printed.
    /// </summary>
    private async Task<(JsonElement Report, string Output)> RunCleanlyAsync(params string[] arguments)
    {
        var json = Path.Combine(Path.GetTempPath(), $"loadgen-{Guid.NewGuid():N}.json");
        using var output = new StringWriter();
        using var errors = new StringWriter();
        await OneOrderAsync();

        var exitCode = await LoadCommand.RunAsync(
            ["--target", _silo.Http.BaseAddress!.ToString(), .. arguments, "--json", json], output, errors, CancellationToken.None);

        Assert.True(exitCode == LoadCommand.Clean, $"exit code {exitCode} (silo log: {_silo.LogPath}):\n{errors}\n{output}");
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        File.Delete(json);
        return (document.RootElement.Clone(), output.ToString());
    }

    /// <summary>
    /// One order placed and read to its end before the run, so that the run's first orders do not pay for a cold silo
    /// (compilation, pools, first activations): on a machine busy with the other tests that took the measured window's
    /// first seconds, and no saga finished in it.
    /// </summary>
    private async Task OneOrderAsync()
    {
        using var restocked = await PostAsync("/inventory/warm-sku/restock", new { quantity = 1 }, "warm-restock");
        using var placed = await PostAsync(
            "/orders",
            new { customerId = "warm", currency = "EUR", paymentToken = "tok_approve", lines = new[] { new { sku = "warm-sku", quantity = 1, unitPrice = 1m } } },
            "warm-order");
        using var read = new HttpRequestMessage(HttpMethod.Get, placed.Headers.Location);
        read.Headers.Add("Prefer", "wait=30");
        using var answer = await _silo.Http.SendAsync(read);
        var order = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("Completed", order.GetProperty("status").GetString());

        async Task<HttpResponseMessage> PostAsync(string path, object body, string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
            request.Headers.Add("Idempotency-Key", key);
            var response = await _silo.Http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}");
            return response;
        }
    }

    /// <summary>The parent of a backend: the fixture's server runs on this machine (no Docker engine answers here).</summary>
    private async Task<int> PostmasterPidAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select pg_backend_pid()", connection);
        var backend = (int)(await command.ExecuteScalarAsync())!;
        var stat = ProcessStats.Read($"/proc/{backend}/stat") is { } line ? ProcessStats.ParseStat(line) : null;
        Assert.True(stat is not null, $"the backend {backend} is not a process of this machine: {(await PostgresServer.InstanceAsync()).Description}");
        return stat.Value.ParentPid;
    }

    private async Task<Dictionary<string, long>> SagaOutcomesAsync()
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select case when finished then coalesce(outcome, 'none') else 'unfinished' end, count(*) from sagas group by 1", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var outcomes = new Dictionary<string, long>();
        while (await reader.ReadAsync())
        {
            outcomes[reader.GetString(0)] = reader.GetInt64(1);
        }

        return outcomes;
    }
}
