using OrderPlatform.InvariantChecker.Tests.Infrastructure;

namespace OrderPlatform.InvariantChecker.Tests;

/// <summary>The command's arguments, through the real executable: every mistake gets a clear message and exit code 2.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("No database: pass --postgres")]
    [InlineData("--postgres needs a value.", "--postgres")]
    [InlineData("Unknown argument '--bogus'.", "--postgres", "Host=127.0.0.1", "--bogus")]
    [InlineData("--postgres is given twice.", "--postgres", "Host=a", "--postgres=Host=b")]
    [InlineData("--postgres is not a valid PostgreSQL connection string", "--postgres", "Colour=blue")]
    [InlineData("--postgres names no Host.", "--postgres", "Port=5432")]
    [InlineData("--in-flight-grace takes a number of seconds (0 or more), not 'soon'.", "--postgres", "Host=127.0.0.1", "--in-flight-grace", "soon")]
    [InlineData("--outbox-grace takes a number of seconds (0 or more), not '-5'.", "--postgres", "Host=127.0.0.1", "--outbox-grace=-5")]
    [InlineData("--kafka-timeout must be more than 0 seconds.", "--postgres", "Host=127.0.0.1", "--kafka-timeout", "0")]
    [InlineData("--consumer-schema 'Read-Models' is not a schema name", "--postgres", "Host=127.0.0.1", "--consumer-schema", "Read-Models")]
    [InlineData("'orders topic' is not a Kafka topic name.", "--postgres", "Host=127.0.0.1", "--orders-topic", "orders topic")]
    [InlineData("--provider-ledger takes postgres or memory, not 'disk'.", "--postgres", "Host=127.0.0.1", "--provider-ledger", "disk")]
    [InlineData("--max-examples takes a number from 1 to 10000, not '0'.", "--postgres", "Host=127.0.0.1", "--max-examples", "0")]
    [InlineData("--json '/no/such/directory/report.json' is not a file in an existing directory.", "--postgres", "Host=127.0.0.1", "--json", "/no/such/directory/report.json")]
    public async Task Bad_arguments_exit_with_2_and_say_what_is_wrong(string message, params string[] arguments)
    {
        var (exitCode, output, errors) = await CheckerProcess.RunAsync(arguments);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, errors, StringComparison.Ordinal);
        Assert.Contains("Usage: dotnet OrderPlatform.InvariantChecker.dll", errors, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task Help_prints_the_usage_and_exits_with_0()
    {
        var (exitCode, output, errors) = await CheckerProcess.RunAsync(["--help"]);

        Assert.Equal(0, exitCode);
        Assert.Contains("--in-flight-grace SEC", output, StringComparison.Ordinal);
        Assert.Equal("", errors);
    }

    [Fact]
    public async Task A_database_that_does_not_answer_exits_with_3()
    {
        var port = PostgresServer.FreePort();

        var (exitCode, output, errors) = await CheckerProcess.RunAsync(["--postgres", $"Host=127.0.0.1;Port={port};Username=nobody;Timeout=5"]);

        Assert.Equal(3, exitCode);
        Assert.Contains("The check could not complete", errors, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public async Task The_connection_string_may_come_from_the_environment()
    {
        var port = PostgresServer.FreePort();

        // Exit code 3 (not 2) shows the setting was taken: the checker tried to connect.
        var (exitCode, _, errors) = await CheckerProcess.RunAsync([], new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Port={port};Username=nobody;Timeout=5",
        });

        Assert.True(exitCode == 3, errors);
    }
}
