namespace OrderPlatform.IntegrationTests;

/// <summary>A silo refuses settings it cannot run with, with exit code 2 and a message saying why: most before it touches the database, the sections checked by their attributes as the host starts.</summary>
public sealed class HostConfigurationTests
{
    private const string Unreachable = "Host=127.0.0.1;Port=9;Username=nobody;Database=none";

    [Theory]
    [InlineData("", "", "", "No database configured")]
    [InlineData(Unreachable, "Database__HotPoolSize", "1", "Database:HotPoolSize must be a whole number from 2 to 1000, not '1'.")]
    [InlineData(Unreachable, "Database__HotPoolSize", "1001", "Database:HotPoolSize must be a whole number from 2 to 1000, not '1001'.")]
    [InlineData(Unreachable, "Database__HotPoolSize", "abc", "Database:HotPoolSize must be a whole number from 2 to 1000, not 'abc'.")]
    [InlineData(Unreachable, "Database__HotPoolSize", "-5", "Database:HotPoolSize must be a whole number from 2 to 1000, not '-5'.")]
    [InlineData(Unreachable, "Database__HotPoolKeep", "17", "Database:HotPoolKeep must be a whole number from 0 to 16, not '17'.")]
    [InlineData(Unreachable, "Database__HotPoolKeep", "-1", "Database:HotPoolKeep must be a whole number from 0 to 16, not '-1'.")]
    [InlineData(Unreachable, "Database__HotPoolKeep", "all", "Database:HotPoolKeep must be a whole number from 0 to 16, not 'all'.")]
    [InlineData(Unreachable, "Database__HotPoolMultiplexing", "yes", "Database:HotPoolMultiplexing must be true or false, not 'yes'.")]
    [InlineData(Unreachable + ";Keepalive=10", "Database__HotPoolMultiplexing", "true", "The connection string's Keepalive cannot be used with Database:HotPoolMultiplexing")]
    [InlineData(Unreachable, "EventStore__GroupWait", "soon", "EventStore:GroupWait must be a duration from 00:00:00 to 00:00:01, such as 00:00:00.002, not 'soon'.")]
    [InlineData(Unreachable, "EventStore__GroupWait", "-00:00:00.002", "EventStore:GroupWait must be a duration from 00:00:00 to 00:00:01, such as 00:00:00.002, not '-00:00:00.002'.")]
    [InlineData(Unreachable, "EventStore__GroupWait", "00:00:05", "EventStore:GroupWait must be a duration from 00:00:00 to 00:00:01, such as 00:00:00.002, not '00:00:05'.")]
    [InlineData(Unreachable, "EventStore__GroupWaitWhileFewerThan", "0", "EventStore:GroupWaitWhileFewerThan must be a whole number from 1 to 256, not '0'.")]
    [InlineData(Unreachable, "EventStore__GroupWaitWhileFewerThan", "many", "EventStore:GroupWaitWhileFewerThan must be a whole number from 1 to 256, not 'many'.")]
    [InlineData(Unreachable, "Grains__RestingLinger", "soon", "Grains:RestingLinger must be a duration from 00:00:00 to 01:00:00, such as 00:00:01, not 'soon'.")]
    [InlineData(Unreachable, "Grains__RestingLinger", "-00:00:01", "Grains:RestingLinger must be a duration from 00:00:00 to 01:00:00, such as 00:00:01, not '-00:00:01'.")]
    [InlineData(Unreachable, "Grains__RestingLinger", "1.00:00:00", "Grains:RestingLinger must be a duration from 00:00:00 to 01:00:00, such as 00:00:01, not '1.00:00:00'.")]
    [InlineData(Unreachable, "Grains__SnapshotEvery", "-1", "Grains:SnapshotEvery must be a whole number from 0 to 10000000, not '-1'.")]
    [InlineData(Unreachable, "Grains__SnapshotEvery", "often", "Grains:SnapshotEvery must be a whole number from 0 to 10000000, not 'often'.")]
    [InlineData(Unreachable, "Grains__SnapshotEvery", "10000001", "Grains:SnapshotEvery must be a whole number from 0 to 10000000, not '10000001'.")]
    [InlineData(Unreachable, "Orleans__ProbeTimeout", "soon", "Orleans:ProbeTimeout must be a duration from 00:00:00.1 to 00:01:00, such as 00:00:01, not 'soon'.")]
    [InlineData(Unreachable, "Orleans__ProbeTimeout", "00:01:01", "Orleans:ProbeTimeout must be a duration from 00:00:00.1 to 00:01:00, such as 00:00:01, not '00:01:01'.")]
    [InlineData(Unreachable, "Orleans__ProbeTimeout", "00:00:00", "Orleans:ProbeTimeout must be a duration from 00:00:00.1 to 00:01:00, such as 00:00:01, not '00:00:00'.")]
    [InlineData(Unreachable, "Orleans__MissedProbesLimit", "0", "Orleans:MissedProbesLimit must be a whole number from 1 to 10, not '0'.")]
    [InlineData(Unreachable, "Orleans__MissedProbesLimit", "three", "Orleans:MissedProbesLimit must be a whole number from 1 to 10, not 'three'.")]
    [InlineData(Unreachable, "Orleans__VotesForDeathDeclaration", "11", "Orleans:VotesForDeathDeclaration must be a whole number from 1 to 10, not '11'.")]
    public async Task A_silo_with_a_setting_it_cannot_use_exits_with_code_2_and_says_why(string connectionString, string setting, string value, string message)
    {
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString };
        if (setting.Length > 0)
        {
            environment[setting] = value;
        }

        var (exitCode, error, _) = await SiloProcess.RunUntilExitAsync(environment, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Relay__BacklogCountLimit", "0", "The field BacklogCountLimit must be between 1 and 10000000.")]
    [InlineData("Relay__BatchSize", "20000", "The field BatchSize must be between 1 and 10000.")]
    [InlineData("Admission__MaxRunningSagas", "-1", "The field MaxRunningSagas must be between 0 and 1000000.")]
    [InlineData("Admission__RetryAfterSeconds", "60", "The field MaxRetryAfterSeconds (30) must be at least RetryAfterSeconds (60).")]
    [InlineData("PaymentGateway__SimulatorLedger", "disk", "PaymentGateway:SimulatorLedger takes postgres or memory.")]
    public async Task A_silo_with_a_section_setting_out_of_range_exits_with_code_2_and_says_which(string setting, string value, string message)
    {
        // These sections are checked when the host starts, after the migrations: the database must be there.
        var connectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("settings");
        var (exitCode, error, _) = await SiloProcess.RunUntilExitAsync(
            new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString, [setting] = value },
            TimeSpan.FromSeconds(90));

        Assert.Equal(2, exitCode);
        Assert.Contains("A setting cannot be used", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
    }
}
