using System.Diagnostics;
using System.Net.Sockets;
using Npgsql;
using OrderPlatform.Processes;
using Testcontainers.PostgreSql;

namespace OrderPlatform.Testing;

/// <summary>
/// A real PostgreSQL for the tests: a Testcontainers container when a Docker engine answers, otherwise a
/// throwaway server started from the system's binaries in a temporary directory. One server per test run;
/// each test class (or test) gets its own database, empty or copied from a template.
/// </summary>
public sealed class PostgresServer
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    private readonly string _adminConnectionString;
    private int _databases;

    private PostgresServer(string adminConnectionString, string description)
    {
        _adminConnectionString = adminConnectionString;
        Description = description;
    }

    public string Description { get; }

    /// <summary>A superuser connection to the server's default database, for tools that create databases of their own.</summary>
    public string AdminConnectionString => _adminConnectionString;

    public static Task<PostgresServer> InstanceAsync() => Shared.Value;

    /// <summary>Creates a database, empty or as a copy of <paramref name="template"/> (which nobody may be connected to), and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, string? template = null)
    {
        var name = $"{prefix}_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}".ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(_adminConnectionString))
        {
            await connection.OpenAsync();
            var copy = template is null ? "" : $" template \"{template}\" strategy file_copy";
            await using var command = new NpgsqlCommand($"create database \"{name}\"{copy}", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(_adminConnectionString) { Database = name, Pooling = true }.ConnectionString;
    }

    private static async Task<PostgresServer> StartAsync()
    {
        if (await DockerEngineAnswersAsync())
        {
            var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
            await container.StartAsync();
            return new PostgresServer(container.GetConnectionString(), "Testcontainers postgres:15-alpine");
        }

        return await StartLocalAsync();
    }

    private static async Task<bool> DockerEngineAnswersAsync()
    {
        var host = Environment.GetEnvironmentVariable("DOCKER_HOST");
        try
        {
            if (host is null || host.StartsWith("unix://", StringComparison.Ordinal))
            {
                var path = host?["unix://".Length..] ?? "/var/run/docker.sock";
                if (!File.Exists(path))
                {
                    return false;
                }

                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
                return true;
            }

            var uri = new Uri(host.Replace("tcp://", "http://", StringComparison.Ordinal));
            using var client = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(uri.Host, uri.Port, cts.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    private static async Task<PostgresServer> StartLocalAsync()
    {
        var bindir = Run("bash", [Path.Combine(RepositoryRoot.Path, "scripts", "ensure-postgres.sh")]).Trim();
        var directory = Directory.CreateTempSubdirectory("orderplatform-pg-").FullName;
        var data = Path.Combine(directory, "data");
        var isRoot = Environment.UserName == "root";
        if (isRoot)
        {
            Run("chown", ["postgres", directory]);
            Run("chmod", ["755", directory]);
        }

        var port = FreePort();
        RunAsOwner(isRoot, Path.Combine(bindir, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]);

        // Throwaway data: durability settings off make the tests quicker; the platform code is the same.
        RunAsOwner(isRoot, Path.Combine(bindir, "pg_ctl"),
        [
            "-D", data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            "start",
        ]);

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                RunAsOwner(isRoot, Path.Combine(bindir, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]);
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Best effort: the temporary directory is the only thing left behind.
            }
        };

        await Task.CompletedTask;
        return new PostgresServer($"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres", $"local PostgreSQL from {bindir} on port {port}");
    }

    private static void RunAsOwner(bool isRoot, string program, IReadOnlyList<string> arguments)
    {
        if (isRoot)
        {
            Run("runuser", ["-u", "postgres", "--", program, .. arguments]);
        }
        else
        {
            Run(program, arguments);
        }
    }

    private static string Run(string program, IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} did not finish within 5 minutes.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result}{stdout.Result}");
        }

        return stdout.Result;
    }

    /// <summary>
    /// A free loopback port below Linux's ephemeral range (32768+), so that no outgoing connection or broker
    /// started meanwhile takes it between this check and the process that binds it; never one that this test process,
    /// or another running beside it, handed out before (see <see cref="LoopbackPorts"/>), so that ports differ.
    /// </summary>
    public static int FreePort() => Ports.Next();

    private static readonly LoopbackPorts Ports = new(Random.Shared);
}

public static class RepositoryRoot
{
    public static readonly string Path = Find();

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "OrderPlatform.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Could not find the repository root (OrderPlatform.sln) above " + AppContext.BaseDirectory);
    }
}
