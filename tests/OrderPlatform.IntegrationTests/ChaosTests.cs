using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Xunit.Abstractions;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The short chaos run of the test command: three silo processes, orders at a constant rate for two SKUs (so that
/// orders share stock grains and their appends), at least two SIGKILLs, then the invariant checker. The long run is
/// scripts/chaos.sh with the options in the README.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_silos_with_two_kills_under_load_end_with_every_invariant_intact()
    {
        var report = Path.Combine(Path.GetTempPath(), $"chaos-{Guid.NewGuid():N}.json");
        var (exitCode, stdout, stderr) = await RunAsync("--silos", "3", "--skus", "2", "--duration", "32", "--rate", "10", "--kill-every", "10", "--restart-after", "3",
            "--kill-consumer-every", "25", "--quiesce-timeout", "120", "--json", report);

        Assert.True(exitCode == 0, $"the chaos run exited with {exitCode}:\n{stdout}\n{stderr}");
        var result = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        Assert.True(result.GetProperty("Kills").GetArrayLength() >= 2, "at least two silos were killed");
        Assert.True(result.GetProperty("OrdersAccepted").GetInt32() >= 300, "a few hundred orders were accepted");
        Assert.Equal(0, result.GetProperty("ClientGaveUp").GetInt64());
        // Kills make the client retry after lost connections and 503s; a 500 would be a fault the platform did not expect.
        var retried = result.GetProperty("RetriedAnswers");
        Assert.False(retried.TryGetProperty("500", out _), $"answers retried: {retried}");
        output.WriteLine($"answers retried: {retried}");
        Assert.True(result.GetProperty("Quiesced").GetBoolean());
        Assert.Equal(0, result.GetProperty("CheckerExitCode").GetInt32());
        Assert.Contains("orders spread over 2 SKU(s); CHAOS-1 runs out early", stdout, StringComparison.Ordinal);
        File.Delete(report);
    }

    /// <summary>
    /// Silos stopped with SIGSTOP for two seconds at a time, as in a long GC pause or on a starved machine, are waited for
    /// under the silo's failure detection as shipped: none is declared dead (a silo declared dead ends its own process,
    /// which the runner would report), the orders go on, and every invariant holds.
    /// </summary>
    [Fact]
    public async Task Silos_paused_for_two_seconds_are_waited_for_not_declared_dead()
    {
        var (result, stdout) = await RunToReportAsync("--silos", "3", "--skus", "2", "--duration", "16", "--rate", "10", "--kill-every", "0",
            "--pause-every", "5", "--pause-for", "2", "--quiesce-timeout", "120");

        Assert.True(result.GetProperty("Pauses").GetArrayLength() >= 2, "at least two silos were paused");
        Assert.True(result.GetProperty("UnexpectedExits").GetArrayLength() == 0, $"silos that exited on their own: {result.GetProperty("UnexpectedExits")}");
        Assert.Equal(0, result.GetProperty("Restarts").GetInt32());
        Assert.Equal(0, result.GetProperty("ClientGaveUp").GetInt64());
        Assert.True(result.GetProperty("Quiesced").GetBoolean());
        Assert.Equal(0, result.GetProperty("CheckerExitCode").GetInt32());
        Assert.Matches(@"paused silo-\d \(SIGSTOP\) for 2\.0 s", stdout);
        Assert.Contains("silos that exited on their own: 0", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// A silo that exits while the runner waits for it to come up ends the run at once, naming the silo and its exit code,
    /// and quoting the last lines the silo wrote, so that a failed run says why without its logs.
    /// </summary>
    [Fact]
    public async Task A_silo_that_exits_at_start_ends_the_run_with_its_exit_code()
    {
        // The silo refuses an invalid setting with exit code 2 (StartupTests).
        var (exitCode, stdout, stderr) = await RunAsync("--silos", "1", "--duration", "30", "--kill-every", "0", "--silo-env", "Database__StartupWait=soon");

        Assert.True(exitCode == 1, $"the chaos run exited with {exitCode}:\n{stdout}\n{stderr}");
        Assert.Contains("The chaos run stopped: silo-1 exited with code 2 before it answered", stderr, StringComparison.Ordinal);
        Assert.Contains("  | Database:StartupWait must be a duration such as 00:01:00 (zero or more), not 'soon'.", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("silos up", stdout, StringComparison.Ordinal);
    }

    /// <summary>
    /// A silo setting without a name, a SKU count outside 1 to 1000, a pause outside 0 to 60 s or a schedule that is not a
    /// whole number of seconds ends the run before it starts anything.
    /// </summary>
    [Theory]
    [InlineData("--silo-env", "NO_EQUALS_SIGN")]
    [InlineData("--silo-env", "=value")]
    [InlineData("--skus", "0")]
    [InlineData("--skus", "1001")]
    [InlineData("--skus", "two")]
    [InlineData("--pause-for", "0")]
    [InlineData("--pause-for", "60.5")]
    [InlineData("--pause-for", "-1")]
    [InlineData("--pause-every", "often")]
    public async Task A_bad_option_value_is_refused(string option, string value)
    {
        var (exitCode, stdout, stderr) = await RunAsync(option, value);

        Assert.Equal(2, exitCode);
        Assert.Contains($"Unknown option or bad value: {option} {value}", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("silos up", stdout, StringComparison.Ordinal);
    }

    /// <summary>A run that must end with exit code 0, and its JSON report.</summary>
    private async Task<(JsonElement Report, string Stdout)> RunToReportAsync(params string[] arguments)
    {
        var report = Path.Combine(Path.GetTempPath(), $"chaos-{Guid.NewGuid():N}.json");
        var (exitCode, stdout, stderr) = await RunAsync([.. arguments, "--json", report]);

        Assert.True(exitCode == 0, $"the chaos run exited with {exitCode}:\n{stdout}\n{stderr}");
        var result = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        File.Delete(report);
        return (result, stdout);
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var server = await PostgresServer.InstanceAsync();
        var configuration = typeof(ChaosTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryRoot.Path, "src", "OrderPlatform.Chaos", "bin", configuration, "net10.0", "OrderPlatform.Chaos.dll");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__Postgres"] = server.AdminConnectionString;

        var (exitCode, stdout, stderr) = await ProcessControl.RunToExitAsync(start, "The chaos run", TimeSpan.FromMinutes(6));
        output.WriteLine(stdout);
        output.WriteLine(stderr);
        return (exitCode, stdout, stderr);
    }
}
