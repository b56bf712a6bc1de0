using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace OrderPlatform.IntegrationTests;

/// <summary>A silo that starts while its database cannot be reached waits for it, within Database:StartupWait, and says so.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task A_silo_started_before_its_database_answers_retries_and_comes_up_once_it_does()
    {
        var connectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("startup");
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var port = PostgresServer.FreePort();
        var throughPort = new NpgsqlConnectionStringBuilder(connectionString) { Port = port }.ConnectionString;

        // Nothing listens on the port yet: the silo's migrations get connection refused and wait.
        var starting = SiloProcess.StartAsync(throughPort, $"startup-{Guid.NewGuid():N}", new Dictionary<string, string> { ["Database__StartupWait"] = "00:01:00" });
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(starting.IsCompleted, "the silo came up without a database");

        // Then the database answers on that port (through a forwarder to the real server).
        using var forwarder = new TcpForwarder(port, target.Host!, target.Port);
        await using var silo = await starting.WaitAsync(TimeSpan.FromSeconds(120));
        var log = await File.ReadAllTextAsync(silo.LogPath);
        Assert.Contains("The database is not reachable yet", log, StringComparison.Ordinal);
        Assert.Contains("trying again in", log, StringComparison.Ordinal);

        // It runs: its schema is there and it answers.
        Assert.Equal(HttpStatusCode.OK, (await silo.Http.GetAsync("/health")).StatusCode);
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand("select count(*) from schema_migrations");
        Assert.True((long)(await command.ExecuteScalarAsync())! > 0);
    }

    [Fact]
    public async Task A_silo_whose_database_never_answers_gives_up_after_its_startup_wait_with_exit_code_1_and_says_why()
    {
        var (exitCode, said, output) = await SiloProcess.RunUntilExitAsync(
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = $"Host=127.0.0.1;Port={PostgresServer.FreePort()};Username=nobody;Database=none",
                ["Database__StartupWait"] = "00:00:02",
            },
            TimeSpan.FromSeconds(60));

        Assert.Equal(1, exitCode);
        Assert.Contains("The database is not reachable yet", said, StringComparison.Ordinal);
        Assert.Contains("The database could not be reached within Database:StartupWait (00:00:02)", said, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", said + output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A silo whose HTTP port is taken (a port handed out twice once did this to a chaos run) stops what it started and
    /// exits with code 1 and one line saying why, instead of an unhandled exception's abort (exit code 134).
    /// </summary>
    [Fact]
    public async Task A_silo_whose_http_port_is_taken_exits_with_code_1_and_says_why()
    {
        var connectionString = await (await PostgresServer.InstanceAsync()).CreateDatabaseAsync("taken");
        var port = PostgresServer.FreePort();
        using var holder = new TcpListener(IPAddress.Loopback, port);
        holder.Start();

        var (exitCode, said, _) = await SiloProcess.RunUntilExitAsync(
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = connectionString,
                ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                ["Orleans__SiloPort"] = PostgresServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Orleans__GatewayPort"] = PostgresServer.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            TimeSpan.FromSeconds(90));

        Assert.Equal(1, exitCode);
        Assert.Contains($"The silo could not start: Failed to bind to address http://127.0.0.1:{port}: address already in use.", said, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", said, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-00:00:01")]
    public async Task A_startup_wait_that_is_not_a_duration_of_zero_or_more_exits_with_code_2(string value)
    {
        var (exitCode, error, _) = await SiloProcess.RunUntilExitAsync(
            new Dictionary<string, string>
            {
                ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=9;Username=nobody;Database=none",
                ["Database__StartupWait"] = value,
            },
            TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        Assert.Contains($"Database:StartupWait must be a duration such as 00:01:00 (zero or more), not '{value}'.", error, StringComparison.Ordinal);
    }

    /// <summary>Accepts connections on a loopback port and relays each, both ways, to another endpoint.</summary>
    private sealed class TcpForwarder : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();

        public TcpForwarder(int port, string host, int targetPort)
        {
            _listener = new TcpListener(IPAddress.Loopback, port);
            _listener.Start();
            _ = AcceptAsync(host, targetPort);
        }

        private async Task AcceptAsync(string host, int targetPort)
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    return;
                }

                _ = RelayAsync(client, host, targetPort);
            }
        }

        private async Task RelayAsync(TcpClient client, string host, int targetPort)
        {
            using (client)
            using (var server = new TcpClient())
            {
                try
                {
                    await server.ConnectAsync(host, targetPort, _stop.Token);
                    var up = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
                    var down = server.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                    await Task.WhenAny(up, down);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                {
                    // One side went away: both close.
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
            _stop.Dispose();
        }
    }
}
