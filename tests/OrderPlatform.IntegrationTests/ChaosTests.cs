using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using Xunit.Abstractions;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// The short chaos run of the test command: three silo processes, orders at a constant rate, at least two
/// SIGKILLs, then the invariant checker. The long run is scripts/chaos.sh with the options in the README.
/// </summary>
public sealed class ChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_silos_with_two_kills_under_load_end_with_every_invariant_intact()
    {
        var server = await PostgresServer.InstanceAsync();
        var configuration = typeof(ChaosTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var dll = Path.Combine(RepositoryRoot.Path, "src", "OrderPlatform.Chaos", "bin", configuration, "net10.0", "OrderPlatform.Chaos.dll");
        var report = Path.Combine(Path.GetTempPath(), $"chaos-{Guid.NewGuid():N}.json");
        var start = new ProcessStartInfo("dotnet", [dll, "--silos", "3", "--duration", "32", "--rate", "10", "--kill-every", "10", "--restart-after", "3",
            "--kill-consumer-every", "25", "--quiesce-timeout", "120", "--json", report])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ConnectionStrings__Postgres"] = server.AdminConnectionString;

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        await process.WaitForExitAsync(timeout.Token);
        output.WriteLine(await stdout);
        output.WriteLine(await stderr);

        Assert.True(process.ExitCode == 0, $"the chaos run exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        var result = JsonDocument.Parse(await File.ReadAllTextAsync(report)).RootElement;
        Assert.True(result.GetProperty("Kills").GetArrayLength() >= 2, "at least two silos were killed");
        Assert.True(result.GetProperty("OrdersAccepted").GetInt32() >= 300, "a few hundred orders were accepted");
        Assert.Equal(0, result.GetProperty("ClientGaveUp").GetInt64());
        Assert.True(result.GetProperty("Quiesced").GetBoolean());
        Assert.Equal(0, result.GetProperty("CheckerExitCode").GetInt32());
        File.Delete(report);
    }
}
