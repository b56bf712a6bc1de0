using System.Diagnostics;
using System.Net.Http.Json;
using System.Reflection;

namespace OrderPlatform.Testing;

/// <summary>
/// One silo host (Orleans silo + REST API) as a separate operating-system process, started from the host's
/// build output, so a test can kill it with SIGKILL like a chaos script would.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private bool _disposed;

    private SiloProcess(Process process, StreamWriter log, int httpPort, int siloPort, int gatewayPort, string logPath)
    {
        _process = process;
        _log = log;
        HttpPort = httpPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        LogPath = logPath;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Http { get; }

    public int HttpPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    public string LogPath { get; }

    public bool HasExited => _process.HasExited;

    public int ProcessId => _process.Id;

    public static string HostAssemblyPath
    {
        get
        {
            var configuration = typeof(SiloProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot.Path, "src", "OrderPlatform.Host", "bin", configuration, "net10.0", "OrderPlatform.Host.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the host first (dotnet build OrderPlatform.sln).", path);
        }
    }

    /// <summary>Starts a silo and waits until its API answers; with ports chosen here, a port lost to a race is chosen again.</summary>
    public static async Task<SiloProcess> StartAsync(
        string connectionString,
        string clusterId,
        IReadOnlyDictionary<string, string>? settings = null,
        (int Http, int Silo, int Gateway)? ports = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(connectionString, clusterId, settings, ports);
            }
            catch (PortInUseException) when (ports is null && attempt < 3)
            {
            }
        }
    }

    private sealed class PortInUseException(string message) : Exception(message);

    private static async Task<SiloProcess> StartOnceAsync(
        string connectionString,
        string clusterId,
        IReadOnlyDictionary<string, string>? settings,
        (int Http, int Silo, int Gateway)? ports)
    {
        var (httpPort, siloPort, gatewayPort) = ports ?? (PostgresServer.FreePort(), PostgresServer.FreePort(), PostgresServer.FreePort());
        var start = HostStartInfo();
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{httpPort}");
        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["Orleans__ClusterId"] = clusterId;
        start.Environment["Orleans__SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Orleans__GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Saga__RetryBaseDelay"] = "00:00:00.050";
        start.Environment["Saga__RetryMaxDelay"] = "00:00:01";
        start.Environment["Saga__RecoveryInterval"] = "00:00:01";
        start.Environment["Saga__StalledAfter"] = "00:00:02";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__OrderPlatform"] = "Information";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var logDirectory = Path.Combine(RepositoryRoot.Path, "TestResults", "silo-logs");
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, $"{clusterId}-{siloPort}-{DateTime.UtcNow:HHmmssfff}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the silo process.");
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var silo = new SiloProcess(process, log, httpPort, siloPort, gatewayPort, logPath);
        try
        {
            await silo.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        }
        catch
        {
            silo.Kill();
            await silo.DisposeAsync();
            throw;
        }

        return silo;
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        using var probe = new HttpClient { BaseAddress = Http.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                await _log.FlushAsync();
                var message = $"The silo process exited with {_process.ExitCode} before it was ready; see {LogPath}.";
                using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
                throw (await reader.ReadToEndAsync()).Contains("address already in use", StringComparison.OrdinalIgnoreCase)
                    ? new PortInUseException(message)
                    : new InvalidOperationException(message);
            }

            try
            {
                var health = await probe.GetFromJsonAsync<Dictionary<string, string>>("/health");
                if (health?["status"] == "ok")
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"The silo on port {HttpPort} did not answer /health within {timeout}; see {LogPath}.");
    }

    /// <summary>
    /// Runs the host with <paramref name="environment"/> for a start that is expected to end (a setting it refuses, a
    /// database it gives up on) and returns its exit code and what it wrote to standard error and output.
    /// </summary>
    public static async Task<(int ExitCode, string Error, string Output)> RunUntilExitAsync(IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = HostStartInfo();
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        var (exitCode, output, error) = await ProcessControl.RunToExitAsync(start, "The silo process", timeout);
        return (exitCode, error, output);
    }

    /// <summary>The host's process, with its output redirected, run from the repository's root.</summary>
    private static ProcessStartInfo HostStartInfo()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot.Path,
        };
        start.ArgumentList.Add(HostAssemblyPath);
        return start;
    }

    /// <summary>SIGKILL: no shutdown, no cleanup, like kill -9.</summary>
    public void Kill() => ProcessControl.Kill(_process);

    /// <summary>Stops the process if it still runs; a second call does nothing (a test may stop a silo early and still hold it in a using).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await ProcessControl.StopAsync(_process);

        Http.Dispose();
        _process.Dispose();
        await _log.DisposeAsync();
    }
}
