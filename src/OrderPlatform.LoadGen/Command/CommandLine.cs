using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace OrderPlatform.LoadGen.Command;

/// <summary>The load generator's arguments, validated before anything is sent.</summary>
internal static partial class CommandLine
{
    public const string Usage =
        """
        Usage: dotnet OrderPlatform.LoadGen.dll --target URL[,URL...] [--ramp FROM:TO:STEP] [--rate R[,R...]] [options]

        Places orders at a constant arrival rate (open loop: order n is due at n/R seconds, whether or not earlier
        orders were answered) and follows each to its terminal state. Latency is measured from the order's intended
        start. Prints one row per run (the ramp's steps first, then each fixed rate); --json also writes the report.

          --target URL[,URL...]     base URLs of silos' REST APIs, used in turn (retries go to the next)
          --rate R[,R...]           runs at these fixed rates, in orders per second
          --duration S              measured seconds of each fixed-rate run (default 30)
          --ramp FROM:TO:STEP       runs at FROM, FROM+STEP, ... up to TO orders per second; stops after the first
                                    step that misses the target, and reports the highest rate sustained
          --step-duration S         measured seconds of each ramp step (default 30)
          --max-p99 MS              p99 a ramp step must stay under, with no error, to be sustained (default 1000)
          --warmup S                seconds before each measured window, not reported (default 5)
          --skus N                  SKUs ordered in turn, named PREFIX-0 .. PREFIX-(N-1) (default 100)
          --sku-prefix PREFIX       (default loadgen-sku)
          --restock QTY             first stock every SKU with QTY (1 to 1000000), under idempotency keys
          --token T[,T...]          payment tokens, used in turn (default tok_approve)
          --completion-timeout S    from an order's intended start to its terminal state; later is an error (default 30)
          --max-in-flight N         orders in flight at most; an order due beyond that is not sent and counts as an
                                    "overload" error (default 5000)
          --wait-in post|get        where the client waits for an order's end: in its POST (Prefer: wait=N, answered
                                    201 with the finished order; one request an order; the default), or in GETs
                                    (Prefer: wait=N) after the POST's 202. A POST answered 202 is followed by GETs
                                    either way. With post, POST p50/p99 is the order's end for those answered 201
          --poll-interval MS        between reads of an order when the server does not hold them (Prefer: wait);
                                    doubles after each read up to 8 times this (default 25)
          --json PATH               also write the report as JSON to PATH

        Watching the platform during each measured window (adds columns to the table):
          --silo-pid PID[,PID...]   silo processes on this machine: CPU (% of one core, summed) and peak RSS
          --postgres-pid PID        PostgreSQL's postmaster on this machine: the server's CPU (% of one core), its
                                    backends' included, those that exited during the window too
          --postgres CS             the platform's database: commits (pg_stat_database.xact_commit, read-only
                                    ones too), the server's WAL flushes (pg_stat_wal.wal_sync) and the WAL it
                                    wrote (wal_records, wal_bytes: WAL KB/saga) per saga
                                    finished in the window; before each run, waits for unfinished sagas;
                                    after it, where the completed orders' time went, stage by stage, from the
                                    commit times of their milestones (recorded_at of saga.started, order.placed,
                                    payment.authorized, order.confirmed, payment.captured, order.completed)
          --quiet-wait S            how long to wait for them at most (default 120)
          --commit-ceiling TPS      this machine's commit ceiling (pgbench tps): prints sagas/s as a share of it
          Whenever the platform is watched: the relay's backlog and lag from GET /relay/status of the targets, how
          busy the machine was (box busy %, all its cores, from /proc/stat), this command's own CPU (loadgen CPU %:
          on one machine, what the client takes from the platform), and the silos' and PostgreSQL's CPU
          milliseconds per saga finished in the window.

          -h, --help                show this text

        Errors: a 4xx to the POST, a 5xx or no answer until the deadline (retried with the same Idempotency-Key),
        an order not finished within the completion timeout, overload. Outcomes are counted apart.
        Exit codes: 0 no errors (ramp: some rate was sustained), 1 errors (ramp: no rate sustained),
                    2 bad arguments, 3 the run could not start (a target does not answer, stocking failed).
        """;

    private static readonly string[] ValueOptions =
    [
        "--target", "--rate", "--duration", "--ramp", "--step-duration", "--max-p99", "--warmup", "--skus", "--sku-prefix",
        "--restock", "--token", "--completion-timeout", "--max-in-flight", "--poll-interval", "--wait-in", "--json",
        "--silo-pid", "--postgres-pid", "--postgres", "--commit-ceiling", "--quiet-wait",
    ];

    /// <returns>Null with <paramref name="error"/> set when the arguments are wrong; null without an error for --help.</returns>
    public static LoadOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (OrderPlatform.Commands.OptionValues.Read(args, ValueOptions, out error) is not { } values)
        {
            return null;
        }

        string? Value(string option) => values.GetValueOrDefault(option);

        if (Value("--target") is not { } targetList)
        {
            return Fail("--target is required: the base URL of a silo's REST API, e.g. --target http://127.0.0.1:5080.", out error);
        }

        var targets = new List<Uri>();
        foreach (var text in targetList.Split(','))
        {
            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https")
                || uri.Query.Length > 0
                || uri.Fragment.Length > 0)
            {
                return Fail($"--target '{text}' is not an http:// or https:// base URL.", out error);
            }

            // Relative paths ("orders") resolve under the base only when it ends with a slash.
            targets.Add(uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/"));
        }

        var options = new LoadOptions { Targets = targets };
        var rateList = Value("--rate");
        var ramp = Value("--ramp");
        if (rateList is null && ramp is null)
        {
            return Fail("Pass --rate R[,R...] for runs at fixed rates, --ramp FROM:TO:STEP, or both.", out error);
        }

        if (rateList is null && Value("--duration") is not null)
        {
            return Fail("--duration belongs to --rate; each step of --ramp takes --step-duration.", out error);
        }

        if (ramp is null && Value("--step-duration") is not null)
        {
            return Fail("--step-duration belongs to --ramp; runs at --rate take --duration.", out error);
        }

        if (ramp is null && Value("--max-p99") is not null)
        {
            return Fail("--max-p99 belongs to --ramp.", out error);
        }

        if (rateList is not null)
        {
            var rates = new List<double>();
            foreach (var text in rateList.Split(','))
            {
                if (!TryNumber(text, 0, 100_000, out var r))
                {
                    return Fail($"--rate takes numbers of orders per second above 0 (at most 100000), not '{text}'.", out error);
                }

                rates.Add(r);
            }

            if (rates.Count > RampPlan.MaxSteps)
            {
                return Fail($"--rate lists {rates.Count} rates; at most {RampPlan.MaxSteps}.", out error);
            }

            if (!TrySeconds(Value("--duration"), "--duration", options.Duration, 0, 86_400, out var duration, out error))
            {
                return null;
            }

            options = options with { Rates = rates, Duration = duration };
        }

        if (ramp is not null)
        {
            var parts = ramp.Split(':');
            if (parts.Length != 3
                || !TryNumber(parts[0], 0, 100_000, out var from)
                || !TryNumber(parts[1], 0, 100_000, out var to)
                || !TryNumber(parts[2], 0, 100_000, out var step)
                || to < from)
            {
                return Fail($"--ramp takes FROM:TO:STEP in orders per second, with 0 < FROM <= TO (at most 100000) and STEP > 0, not '{ramp}'.", out error);
            }

            var plan = new RampPlan(from, to, step);
            if (plan.Rates().Count > RampPlan.MaxSteps)
            {
                return Fail($"--ramp {ramp} makes {plan.Rates().Count} steps; at most {RampPlan.MaxSteps}.", out error);
            }

            if (!TrySeconds(Value("--step-duration"), "--step-duration", options.StepDuration, 0, 86_400, out var stepDuration, out error)
                || !TryMilliseconds(Value("--max-p99"), "--max-p99", options.MaxP99, 0, 3_600_000, out var maxP99, out error))
            {
                return null;
            }

            options = options with { Ramp = plan, StepDuration = stepDuration, MaxP99 = maxP99 };
        }

        if (!TrySeconds(Value("--warmup"), "--warmup", options.Warmup, -1, 3_600, out var warmup, out error)
            || !TrySeconds(Value("--completion-timeout"), "--completion-timeout", options.CompletionTimeout, 0, 3_600, out var completionTimeout, out error)
            || !TryMilliseconds(Value("--poll-interval"), "--poll-interval", options.PollInterval, 0, 10_000, out var pollInterval, out error))
        {
            return null;
        }

        options = options with { Warmup = warmup, CompletionTimeout = completionTimeout, PollInterval = pollInterval };

        switch (Value("--wait-in"))
        {
            case null or "post":
                break;
            case "get":
                options = options with { WaitInPost = false };
                break;
            case { } other:
                return Fail($"--wait-in takes post or get, not '{other}'.", out error);
        }

        if (Value("--skus") is { } skus)
        {
            if (!TryWhole(skus, 1, 100_000, out var n))
            {
                return Fail($"--skus takes a whole number from 1 to 100000, not '{skus}'.", out error);
            }

            options = options with { Skus = n };
        }

        if (Value("--sku-prefix") is { } prefix)
        {
            if (!SkuPrefix().IsMatch(prefix))
            {
                return Fail($"--sku-prefix '{prefix}' is not a SKU prefix: 1 to 50 letters, digits, '.', '_' or '-', starting with a letter or digit.", out error);
            }

            options = options with { SkuPrefix = prefix };
        }

        if (Value("--restock") is { } restock)
        {
            if (!TryWhole(restock, 1, 1_000_000, out var quantity))
            {
                return Fail($"--restock takes a whole number from 1 to 1000000, not '{restock}'.", out error);
            }

            options = options with { Restock = quantity };
        }

        if (Value("--token") is { } tokenList)
        {
            var tokens = tokenList.Split(',');
            if (tokens.FirstOrDefault(t => !PaymentToken().IsMatch(t)) is { } bad)
            {
                return Fail($"--token '{bad}' is not a payment token: 1 to 200 characters, no spaces or commas.", out error);
            }

            options = options with { Tokens = tokens };
        }

        if (Value("--max-in-flight") is { } maxInFlight)
        {
            if (!TryWhole(maxInFlight, 1, 100_000, out var n))
            {
                return Fail($"--max-in-flight takes a whole number from 1 to 100000, not '{maxInFlight}'.", out error);
            }

            options = options with { MaxInFlight = n };
        }

        if (Value("--json") is { } json)
        {
            if (json.Length == 0 || json.EndsWith('/') || Directory.Exists(json) || !Directory.Exists(Path.GetDirectoryName(Path.GetFullPath(json))))
            {
                return Fail($"--json '{json}' is not a file in an existing directory.", out error);
            }

            options = options with { JsonPath = json };
        }

        if (Value("--silo-pid") is { } pids)
        {
            var list = new List<int>();
            foreach (var text in pids.Split(','))
            {
                if (!TryWhole(text, 1, int.MaxValue, out var pid))
                {
                    return Fail($"--silo-pid takes process ids, not '{text}'.", out error);
                }

                list.Add(pid);
            }

            options = options with { SiloPids = list };
        }

        if (Value("--postgres-pid") is { } postmaster)
        {
            if (!TryWhole(postmaster, 1, int.MaxValue, out var pid))
            {
                return Fail($"--postgres-pid takes the process id of PostgreSQL's postmaster, not '{postmaster}'.", out error);
            }

            options = options with { PostgresPid = pid };
        }

        if (Value("--postgres") is { } postgres)
        {
            try
            {
                var connection = new NpgsqlConnectionStringBuilder(postgres);
                if (string.IsNullOrWhiteSpace(connection.Host) || string.IsNullOrWhiteSpace(connection.Database))
                {
                    return Fail("--postgres names no Host or no Database.", out error);
                }

                connection.ApplicationName ??= "orderplatform-loadgen";
                options = options with { Postgres = connection.ConnectionString };
            }
            catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException)
            {
                return Fail($"--postgres is not a valid PostgreSQL connection string: {e.Message}", out error);
            }
        }

        if (Value("--commit-ceiling") is { } ceiling)
        {
            if (!TryNumber(ceiling, 0, 100_000_000, out var tps))
            {
                return Fail($"--commit-ceiling takes a number of commits per second above 0, not '{ceiling}'.", out error);
            }

            options = options with { CommitCeiling = tps };
        }

        if (!TrySeconds(Value("--quiet-wait"), "--quiet-wait", options.QuietWait, -1, 3_600, out var quietWait, out error))
        {
            return null;
        }

        if (Value("--quiet-wait") is not null && options.Postgres is null)
        {
            return Fail("--quiet-wait needs --postgres: it waits for the platform's unfinished sagas.", out error);
        }

        error = null;
        return options with { QuietWait = quietWait };
    }

    private static bool TryNumber(string text, double above, double atMost, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
        && double.IsFinite(value) && value > above && value <= atMost;

    private static bool TryWhole(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    // above: the value must be greater than this (-1 lets zero through).
    private static bool TrySeconds(string? text, string option, TimeSpan fallback, double above, double atMost, out TimeSpan value, out string? error)
    {
        value = fallback;
        error = null;
        if (text is null)
        {
            return true;
        }

        if (!TryNumber(text, above, atMost, out var seconds))
        {
            error = $"{option} takes a number of seconds {(above < 0 ? "from 0" : "above 0")} (at most {atMost}), not '{text}'.";
            return false;
        }

        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    private static bool TryMilliseconds(string? text, string option, TimeSpan fallback, double above, double atMost, out TimeSpan value, out string? error)
    {
        value = fallback;
        error = null;
        if (text is null)
        {
            return true;
        }

        if (!TryNumber(text, above, atMost, out var milliseconds))
        {
            error = $"{option} takes a number of milliseconds above 0 (at most {atMost}), not '{text}'.";
            return false;
        }

        value = TimeSpan.FromMilliseconds(milliseconds);
        return true;
    }

    private static LoadOptions? Fail(string message, out string? error)
    {
        error = message;
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")]
    private static partial Regex SkuPrefix();

    [GeneratedRegex(@"^[^\s,]{1,200}$")]
    private static partial Regex PaymentToken();
}
