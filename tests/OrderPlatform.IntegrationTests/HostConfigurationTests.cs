using System.Diagnostics;

namespace OrderPlatform.IntegrationTests;

/// <summary>A silo refuses settings it cannot run with before it touches the database: exit code 2 and a message saying why.</summary>
public sealed class HostConfigurationTests
{
    [Theory]
    [InlineData("", "", "No database configured")]
    [InlineData("Host=127.0.0.1;Port=9;Username=nobody;Database=none", "1", "Database:HotPoolSize must be a whole number from 2 to 1000, not '1'.")]
    [InlineData("Host=127.0.0.1;Port=9;Username=nobody;Database=none", "1001", "Database:HotPoolSize must be a whole number from 2 to 1000, not '1001'.")]
    [InlineData("Host=127.0.0.1;Port=9;Username=nobody;Database=none", "abc", "Database:HotPoolSize must be a whole number from 2 to 1000, not 'abc'.")]
    [InlineData("Host=127.0.0.1;Port=9;Username=nobody;Database=none", "-5", "Database:HotPoolSize must be a whole number from 2 to 1000, not '-5'.")]
    public async Task A_silo_with_a_setting_it_cannot_use_exits_with_code_2_and_says_why(string connectionString, string hotPoolSize, string message)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        start.ArgumentList.Add(SiloProcess.HostAssemblyPath);
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        if (hotPoolSize.Length > 0)
        {
            start.Environment["Database__HotPoolSize"] = hotPoolSize;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        Assert.Contains(message, await stderr, StringComparison.Ordinal);
    }
}
