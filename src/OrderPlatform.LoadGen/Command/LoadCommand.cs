using System.Globalization;
using Npgsql;
using OrderPlatform.LoadGen.Orders;
using OrderPlatform.LoadGen.Reporting;
using OrderPlatform.LoadGen.Runs;
using OrderPlatform.LoadGen.Scheduling;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Command;

/// <summary>The command: arguments in; stock, run (a ramp, then fixed rates), print; an exit code a script can branch on.</summary>
internal static class LoadCommand
{
    public const int Clean = 0;
    public const int Errors = 1;
    public const int BadArguments = 2;
    public const int CouldNotRun = 3;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter errors, CancellationToken cancellationToken, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            return await RunCommandAsync(args, output, errors, time ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await errors.WriteLineAsync("The run was cancelled.").ConfigureAwait(false);
            return CouldNotRun;
        }
    }

    private static async Task<int> RunCommandAsync(IReadOnlyList<string> args, TextWriter output, TextWriter errors, TimeProvider time, CancellationToken cancellationToken)
    {
        var options = CommandLine.Parse(args, out var error);
        if (options is null)
        {
            if (error is null)
            {
                await output.WriteLineAsync(CommandLine.Usage).ConfigureAwait(false);
                return Clean;
            }

            await errors.WriteLineAsync($"{error}\n\n{CommandLine.Usage}").ConfigureAwait(false);
            return BadArguments;
        }

        var startedAt = time.GetUtcNow();
        var runId = Guid.NewGuid().ToString("N")[..12];
        var mix = new OrderMix(options.SkuPrefix, options.Skus, options.Tokens);
        using var http = LoadHttp.Create(options.MaxInFlight);
        var sampler = new ServerSampler(options.SiloPids, options.PostgresPid, options.Postgres, options.Targets, http, time);
        try
        {
            if (await FirstSilentTargetAsync(http, options.Targets, cancellationToken).ConfigureAwait(false) is { } silent)
            {
                await errors.WriteLineAsync($"The target {silent} does not answer GET /health.").ConfigureAwait(false);
                return CouldNotRun;
            }

            if (options.WatchesServer && await sampler.ProblemAsync(cancellationToken).ConfigureAwait(false) is { } problem)
            {
                await errors.WriteLineAsync(problem).ConfigureAwait(false);
                return CouldNotRun;
            }

            if (options.Restock is { } quantity)
            {
                await output.WriteLineAsync($"stocking {options.Skus} SKUs ({options.SkuPrefix}-0 .. {options.SkuPrefix}-{options.Skus - 1}) with {quantity} each").ConfigureAwait(false);
                await Restocker.RestockAsync(http, options.Targets, mix, quantity, runId, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (InvalidOperationException e)
        {
            await errors.WriteLineAsync(e.Message).ConfigureAwait(false);
            return CouldNotRun;
        }

        await output.WriteLineAsync(
            $"targets {string.Join(", ", options.Targets)}; warm-up {Seconds(options.Warmup)} s; tokens {string.Join(",", options.Tokens)}; " +
            $"completion timeout {Seconds(options.CompletionTimeout)} s; at most {options.MaxInFlight} in flight; "
            + (options.WaitInPost ? "each POST waits for its order's end" : "each order read with GET after its POST")).ConfigureAwait(false);
        var server = options.WatchesServer;
        var ceiling = options.CommitCeiling is not null;
        await output.WriteLineAsync(ReportText.Header(server, ceiling)).ConfigureAwait(false);

        var runs = new List<RunResult>();
        double? sustained = null, failed = null;
        var step = 0;
        foreach (var rate in options.Ramp?.Rates() ?? [])
        {
            var run = await RunOnceAsync("ramp", rate, options.StepDuration, step++).ConfigureAwait(false);
            if (!run.Sustains(options.MaxP99))
            {
                failed = run.OfferedRate;
                break;
            }

            sustained = run.OfferedRate;
        }

        foreach (var rate in options.Rates)
        {
            await RunOnceAsync("fixed", rate, options.Duration, step++).ConfigureAwait(false);
        }

        foreach (var line in runs.SelectMany(ReportText.Details))
        {
            await output.WriteLineAsync(line).ConfigureAwait(false);
        }

        var ramp = options.Ramp is { } plan ? new RampSummary(plan.From, plan.To, plan.Step, options.MaxP99.TotalMilliseconds, sustained, failed) : null;
        if (ramp is not null)
        {
            await output.WriteLineAsync(ReportText.Verdict(ramp)).ConfigureAwait(false);
        }

        if (options.JsonPath is { } path)
        {
            var report = new LoadReport(
                startedAt,
                [.. options.Targets.Select(t => t.AbsoluteUri)],
                new LoadSettings(
                    options.Warmup.TotalSeconds, options.Duration.TotalSeconds, options.Skus, options.SkuPrefix, options.Restock, options.Tokens,
                    options.CompletionTimeout.TotalSeconds, options.MaxInFlight, options.PollInterval.TotalMilliseconds, options.WaitInPost ? "post" : "get",
                    options.StepDuration.TotalSeconds, options.CommitCeiling),
                runs,
                ramp);
            await File.WriteAllTextAsync(path, report.ToJson(), CancellationToken.None).ConfigureAwait(false);
        }

        var clean = (ramp is null || ramp.HighestSustainedRate is not null) && runs.Where(r => r.Phase == "fixed").All(r => r.Errors == 0);
        return clean ? Clean : Errors;

        async Task<RunResult> RunOnceAsync(string phase, double rate, TimeSpan duration, int step)
        {
            if (server)
            {
                var left = await sampler.WaitUntilQuietAsync(options.QuietWait, cancellationToken).ConfigureAwait(false);
                if (left > 0)
                {
                    await output.WriteLineAsync($"  ({left} sagas of earlier runs were still unfinished after {Seconds(options.QuietWait)} s; starting anyway)").ConfigureAwait(false);
                }
            }

            var driver = new HttpOrderDriver(http, options.Targets, mix, $"{runId}-{step}", options.CompletionTimeout, options.PollInterval, options.WaitInPost);
            var schedule = new ArrivalSchedule(rate, options.Warmup, duration);
            var sampling = server ? sampler.SampleAsync(options.Warmup, duration, cancellationToken) : null;
            var run = await LoadRun.RunAsync(schedule, driver, options.MaxInFlight, time, cancellationToken).ConfigureAwait(false) with { Phase = phase };
            if (sampling is not null)
            {
                var metrics = await sampling.ConfigureAwait(false);
                run = run with { Server = metrics.PerSaga(run.SagasPerSecond * duration.TotalSeconds) };
            }

            if (options.CommitCeiling is { } tps)
            {
                run = run with { ShareOfCommitCeiling = Math.Round(run.SagasPerSecond / tps, 3) };
            }

            if (options.Postgres is { } postgres && run.CompletedOrders.Count > 0)
            {
                try
                {
                    run = run with { Stages = await OrderStages.ReadAsync(postgres, run.CompletedOrders, cancellationToken).ConfigureAwait(false) };
                }
                catch (NpgsqlException e)
                {
                    await output.WriteLineAsync($"  (where the orders' time went could not be read: {e.Message})").ConfigureAwait(false);
                }
            }

            runs.Add(run);
            await output.WriteLineAsync(ReportText.Row(run, server, ceiling)).ConfigureAwait(false);
            return run;
        }
    }

    private static async Task<Uri?> FirstSilentTargetAsync(HttpClient http, IReadOnlyList<Uri> targets, CancellationToken cancellationToken)
    {
        foreach (var target in targets)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                using var response = await http.GetAsync(new Uri(target, "health"), timeout.Token).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    return target;
                }
            }
            catch (HttpRequestException)
            {
                return target;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return target;
            }
        }

        return null;
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
}
