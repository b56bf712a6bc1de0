using System.Text.Json;
using System.Text.Json.Serialization;
using OrderPlatform.InvariantChecker.Command;
using OrderPlatform.InvariantChecker.Reporting;

namespace OrderPlatform.InvariantChecker.Tests.Infrastructure;

/// <summary>The outcome of one run of the command: its exit code, what it printed and the report it wrote with --json.</summary>
internal sealed record CheckRun(int ExitCode, string Output, string Errors, InvariantReport Report)
{
    public InvariantResult this[string invariant] => Report[invariant];
}

internal static class Checks
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Runs the command in this process, exactly as Program does, with the report also written as JSON.</summary>
    public static async Task<CheckRun> RunAsync(string connectionString, params string[] extraArguments)
    {
        var json = Path.Combine(Path.GetTempPath(), $"invariants-{Guid.NewGuid():N}.json");
        using var output = new StringWriter();
        using var errors = new StringWriter();
        try
        {
            var exitCode = await CheckCommand.RunAsync(["--postgres", connectionString, "--json", json, .. extraArguments], output, errors, _ => null);
            Assert.True(File.Exists(json), $"The command wrote no report (exit code {exitCode}): {errors}{output}");
            var report = JsonSerializer.Deserialize<InvariantReport>(await File.ReadAllTextAsync(json), Json)!;
            return new CheckRun(exitCode, output.ToString(), errors.ToString(), report);
        }
        finally
        {
            File.Delete(json);
        }
    }

    /// <summary>Every invariant holds and the command says so with exit code 0.</summary>
    public static void AssertPasses(CheckRun run)
    {
        var failed = run.Report.Invariants.Where(i => i.Status == InvariantStatus.Fail).Select(i => i.Name).ToList();
        Assert.True(failed.Count == 0, $"Expected every invariant to hold, but {string.Join(", ", failed)} failed:\n{run.Output}");
        Assert.Equal(CheckCommand.Clean, run.ExitCode);
    }

    /// <summary>
    /// Exactly one invariant fails, through the given rule (and possibly others of the same invariant); every other
    /// invariant holds; the exit code is 1 and the printed line says FAIL.
    /// </summary>
    public static RuleResult AssertOnlyViolation(CheckRun run, string invariant, string rule)
    {
        foreach (var result in run.Report.Invariants.Where(i => i.Name != invariant))
        {
            Assert.True(result.Status != InvariantStatus.Fail, $"Only {invariant} should fail, but {result.Name} failed too:\n{run.Output}");
        }

        var broken = run[invariant];
        Assert.True(broken.Status == InvariantStatus.Fail, $"{invariant} should fail:\n{run.Output}");
        var violated = broken.Rule(rule);
        Assert.True(violated.Violations > 0, $"{invariant} should fail on '{rule}':\n{run.Output}");
        Assert.NotEmpty(violated.Examples);
        Assert.Equal(CheckCommand.Violations, run.ExitCode);
        Assert.Contains(run.Output.Split('\n'), line => line.Contains($" {invariant} ", StringComparison.Ordinal) && line.Contains(" FAIL ", StringComparison.Ordinal));
        return violated;
    }
}
