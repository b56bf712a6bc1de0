using OrderPlatform.LoadGen.Command;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>The arguments: every mistake is named before anything is sent, and the command exits with 2.</summary>
public sealed class CommandLineTests
{
    private const string Target = "http://127.0.0.1:5080";

    [Theory]
    [InlineData("--target is required", "--rate", "10")]
    [InlineData("Unknown argument '--rte'.", "--target", Target, "--rte", "10")]
    [InlineData("Unknown argument 'fast'.", "--target", Target, "fast")]
    [InlineData("--rate is given twice.", "--target", Target, "--rate", "10", "--rate=20")]
    [InlineData("--rate needs a value.", "--target", Target, "--rate")]
    [InlineData("--rate needs a value.", "--target", Target, "--rate", "--duration", "5")]
    [InlineData("--target 'ftp://127.0.0.1' is not an http:// or https:// base URL.", "--target", "ftp://127.0.0.1", "--rate", "1")]
    [InlineData("--target '127.0.0.1:5080' is not an http:// or https:// base URL.", "--target", "127.0.0.1:5080", "--rate", "1")]
    [InlineData("--target '' is not an http:// or https:// base URL.", "--target", Target + ",", "--rate", "1")]
    [InlineData("--target 'http://127.0.0.1/?x=1' is not an http:// or https:// base URL.", "--target", "http://127.0.0.1/?x=1", "--rate", "1")]
    [InlineData("Pass --rate R[,R...] for runs at fixed rates, --ramp FROM:TO:STEP, or both.", "--target", Target)]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not '0'.", "--target", Target, "--rate", "0")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not '-5'.", "--target", Target, "--rate", "-5")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not 'lots'.", "--target", Target, "--rate", "lots")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not 'NaN'.", "--target", Target, "--rate", "NaN")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not '1e9'.", "--target", Target, "--rate", "1e9")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not '200000'.", "--target", Target, "--rate", "200000")]
    [InlineData("--duration takes a number of seconds above 0 (at most 86400), not '0'.", "--target", Target, "--rate", "1", "--duration", "0")]
    [InlineData("--duration takes a number of seconds above 0 (at most 86400), not '10s'.", "--target", Target, "--rate", "1", "--duration", "10s")]
    [InlineData("--warmup takes a number of seconds from 0 (at most 3600), not '-1'.", "--target", Target, "--rate", "1", "--warmup=-1")]
    [InlineData("--step-duration belongs to --ramp", "--target", Target, "--rate", "1", "--step-duration", "5")]
    [InlineData("--rate takes numbers of orders per second above 0 (at most 100000), not ''.", "--target", Target, "--rate", "100,,200")]
    [InlineData("--duration belongs to --rate", "--target", Target, "--ramp", "10:20:5", "--duration", "5")]
    [InlineData("--max-p99 belongs to --ramp.", "--target", Target, "--rate", "1", "--max-p99", "100")]
    [InlineData("--ramp takes FROM:TO:STEP", "--target", Target, "--ramp", "10:20")]
    [InlineData("--ramp takes FROM:TO:STEP", "--target", Target, "--ramp", "20:10:5")]
    [InlineData("--ramp takes FROM:TO:STEP", "--target", Target, "--ramp", "0:10:5")]
    [InlineData("--ramp takes FROM:TO:STEP", "--target", Target, "--ramp", "10:20:0")]
    [InlineData("--ramp takes FROM:TO:STEP", "--target", Target, "--ramp", "a:b:c")]
    [InlineData("--ramp 1:1000:1 makes 1000 steps; at most 100.", "--target", Target, "--ramp", "1:1000:1")]
    [InlineData("--wait-in takes post or get, not 'put'.", "--target", Target, "--rate", "1", "--wait-in", "put")]
    [InlineData("--wait-in needs a value.", "--target", Target, "--rate", "1", "--wait-in")]
    [InlineData("--step-duration takes a number of seconds above 0 (at most 86400), not 'x'.", "--target", Target, "--ramp", "10:20:5", "--step-duration", "x")]
    [InlineData("--max-p99 takes a number of milliseconds above 0 (at most 3600000), not '0'.", "--target", Target, "--ramp", "10:20:5", "--max-p99", "0")]
    [InlineData("--skus takes a whole number from 1 to 100000, not '0'.", "--target", Target, "--rate", "1", "--skus", "0")]
    [InlineData("--skus takes a whole number from 1 to 100000, not '2.5'.", "--target", Target, "--rate", "1", "--skus", "2.5")]
    [InlineData("--sku-prefix 'my sku' is not a SKU prefix", "--target", Target, "--rate", "1", "--sku-prefix", "my sku")]
    [InlineData("--sku-prefix '-x' is not a SKU prefix", "--target", Target, "--rate", "1", "--sku-prefix=-x")]
    [InlineData("--restock takes a whole number from 1 to 1000000, not '1000001'.", "--target", Target, "--rate", "1", "--restock", "1000001")]
    [InlineData("--restock takes a whole number from 1 to 1000000, not '0'.", "--target", Target, "--rate", "1", "--restock", "0")]
    [InlineData("--token '' is not a payment token", "--target", Target, "--rate", "1", "--token", "tok_approve,")]
    [InlineData("--token 'tok approve' is not a payment token", "--target", Target, "--rate", "1", "--token", "tok approve")]
    [InlineData("--completion-timeout takes a number of seconds above 0 (at most 3600), not '0'.", "--target", Target, "--rate", "1", "--completion-timeout", "0")]
    [InlineData("--max-in-flight takes a whole number from 1 to 100000, not '0'.", "--target", Target, "--rate", "1", "--max-in-flight", "0")]
    [InlineData("--poll-interval takes a number of milliseconds above 0 (at most 10000), not '20000'.", "--target", Target, "--rate", "1", "--poll-interval", "20000")]
    [InlineData("--json '/no/such/directory/report.json' is not a file in an existing directory.", "--target", Target, "--rate", "1", "--json", "/no/such/directory/report.json")]
    [InlineData("--json '/tmp' is not a file in an existing directory.", "--target", Target, "--rate", "1", "--json", "/tmp")]
    [InlineData("--silo-pid takes process ids, not 'silo'.", "--target", Target, "--rate", "1", "--silo-pid", "silo")]
    [InlineData("--silo-pid takes process ids, not '-3'.", "--target", Target, "--rate", "1", "--silo-pid=12,-3")]
    [InlineData("--postgres-pid takes the process id of PostgreSQL's postmaster, not 'postmaster'.", "--target", Target, "--rate", "1", "--postgres-pid", "postmaster")]
    [InlineData("--postgres-pid takes the process id of PostgreSQL's postmaster, not '12.5'.", "--target", Target, "--rate", "1", "--postgres-pid", "12.5")]
    [InlineData("--postgres-pid takes the process id of PostgreSQL's postmaster, not '-7'.", "--target", Target, "--rate", "1", "--postgres-pid=-7")]
    [InlineData("--postgres-pid takes the process id of PostgreSQL's postmaster, not '0'.", "--target", Target, "--rate", "1", "--postgres-pid", "0")]
    [InlineData("--postgres-pid takes the process id of PostgreSQL's postmaster, not '4000,4001'.", "--target", Target, "--rate", "1", "--postgres-pid", "4000,4001")]
    [InlineData("--postgres-pid needs a value.", "--target", Target, "--rate", "1", "--postgres-pid")]
    [InlineData("--postgres-pid needs a value.", "--target", Target, "--rate", "1", "--postgres-pid", "--silo-pid", "12")]
    [InlineData("--postgres is not a valid PostgreSQL connection string", "--target", Target, "--rate", "1", "--postgres", "Colour=blue")]
    [InlineData("--postgres names no Host or no Database.", "--target", Target, "--rate", "1", "--postgres", "Host=127.0.0.1")]
    [InlineData("--commit-ceiling takes a number of commits per second above 0, not '0'.", "--target", Target, "--rate", "1", "--commit-ceiling", "0")]
    [InlineData("--quiet-wait needs --postgres", "--target", Target, "--rate", "1", "--quiet-wait", "10")]
    [InlineData("--quiet-wait takes a number of seconds from 0 (at most 3600), not 'x'.", "--target", Target, "--rate", "1", "--quiet-wait", "x")]
    public async Task Bad_arguments_exit_with_2_and_say_what_is_wrong(string message, params string[] arguments)
    {
        Assert.Null(CommandLine.Parse(arguments, out var error));
        Assert.NotNull(error);
        Assert.Contains(message, error, StringComparison.Ordinal);

        using var output = new StringWriter();
        using var errors = new StringWriter();
        var exitCode = await Command.LoadCommand.RunAsync(arguments, output, errors, CancellationToken.None);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, errors.ToString(), StringComparison.Ordinal);
        Assert.Contains("Usage: dotnet OrderPlatform.LoadGen.dll", errors.ToString(), StringComparison.Ordinal);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public async Task Help_prints_the_usage_and_exits_with_0()
    {
        using var output = new StringWriter();
        using var errors = new StringWriter();

        var exitCode = await Command.LoadCommand.RunAsync(["--rate", "5", "--help"], output, errors, CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.Contains("--ramp FROM:TO:STEP", output.ToString(), StringComparison.Ordinal);
        Assert.Equal("", errors.ToString());
    }

    [Fact]
    public void A_fixed_rate_with_defaults()
    {
        var options = CommandLine.Parse(["--target", Target, "--rate", "150.5"], out var error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal([new Uri("http://127.0.0.1:5080/")], options.Targets);
        Assert.Equal([150.5], options.Rates);
        Assert.Null(options.Ramp);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Duration);
        Assert.Equal(TimeSpan.FromSeconds(5), options.Warmup);
        Assert.Equal(100, options.Skus);
        Assert.Equal("loadgen-sku", options.SkuPrefix);
        Assert.Null(options.Restock);
        Assert.Equal(["tok_approve"], options.Tokens);
        Assert.Equal(TimeSpan.FromSeconds(30), options.CompletionTimeout);
        Assert.Equal(5000, options.MaxInFlight);
        Assert.True(options.WaitInPost);
        Assert.Null(options.JsonPath);
        Assert.False(options.WatchesServer);
        Assert.Null(options.PostgresPid);
        Assert.Null(options.CommitCeiling);
    }

    [Fact]
    public void Every_option_in_both_spellings()
    {
        var json = Path.Combine(Path.GetTempPath(), "loadgen-report.json");
        var options = CommandLine.Parse(
            [
                "--target=http://127.0.0.1:5081,http://127.0.0.1:5082/api", "--ramp", "50:200:50", "--step-duration", "12",
                "--max-p99=250", "--warmup", "0", "--skus", "7", "--sku-prefix", "bench.sku_1", "--restock", "5000",
                "--token", "tok_approve,tok_slow_100,tok_decline", "--completion-timeout", "2.5", "--max-in-flight", "800",
                "--poll-interval", "10", "--json", json, "--rate", "100,250.5", "--duration=20", "--silo-pid", "4242,4343", "--postgres-pid=4000",
                "--postgres", "Host=127.0.0.1;Port=54339;Username=postgres;Database=orderplatform", "--commit-ceiling", "930.5",
                "--quiet-wait", "0", "--wait-in=get",
            ],
            out var error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal([new Uri("http://127.0.0.1:5081/"), new Uri("http://127.0.0.1:5082/api/")], options.Targets);
        Assert.Equal([100, 250.5], options.Rates);
        Assert.Equal(TimeSpan.FromSeconds(20), options.Duration);
        Assert.Equal(new RampPlan(50, 200, 50), options.Ramp);
        Assert.Equal([50.0, 100.0, 150.0, 200.0], options.Ramp!.Rates());
        Assert.Equal(TimeSpan.FromSeconds(12), options.StepDuration);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.MaxP99);
        Assert.Equal(TimeSpan.Zero, options.Warmup);
        Assert.Equal(7, options.Skus);
        Assert.Equal("bench.sku_1", options.SkuPrefix);
        Assert.Equal(5000, options.Restock);
        Assert.Equal(["tok_approve", "tok_slow_100", "tok_decline"], options.Tokens);
        Assert.Equal(TimeSpan.FromSeconds(2.5), options.CompletionTimeout);
        Assert.Equal(800, options.MaxInFlight);
        Assert.Equal(TimeSpan.FromMilliseconds(10), options.PollInterval);
        Assert.False(options.WaitInPost);
        Assert.Equal(json, options.JsonPath);
        Assert.Equal([4242, 4343], options.SiloPids);
        Assert.Equal(4000, options.PostgresPid);
        Assert.Equal("Host=127.0.0.1;Port=54339;Username=postgres;Database=orderplatform;Application Name=orderplatform-loadgen", options.Postgres);
        Assert.Equal(930.5, options.CommitCeiling);
        Assert.Equal(TimeSpan.Zero, options.QuietWait);
        Assert.True(options.WatchesServer);
    }

    [Fact]
    public void Postgres_pid_alone_watches_the_platform()
    {
        var options = CommandLine.Parse(["--target", Target, "--rate", "1", "--postgres-pid", "4000"], out var error);

        Assert.Null(error);
        Assert.Equal(4000, options?.PostgresPid);
        Assert.True(options?.WatchesServer);
        Assert.Empty(options!.SiloPids);
        Assert.Null(options.Postgres);
    }

    [Theory]
    [InlineData(100, 1000, 100, new[] { 100.0, 200, 300, 400, 500, 600, 700, 800, 900, 1000 })]
    [InlineData(100, 250, 100, new[] { 100.0, 200 })]
    [InlineData(0.5, 1.5, 0.25, new[] { 0.5, 0.75, 1, 1.25, 1.5 })]
    [InlineData(300, 300, 50, new[] { 300.0 })]
    public void A_ramp_runs_from_FROM_up_to_TO_by_STEP(double from, double to, double step, double[] rates)
    {
        Assert.Equal(rates, new RampPlan(from, to, step).Rates());
    }
}
