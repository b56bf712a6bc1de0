using System.Diagnostics;
using System.Reflection;

namespace OrderPlatform.IntegrationTests.Infrastructure;

/// <summary>The downstream consumer (src/OrderPlatform.Projections) as a separate process.</summary>
public sealed class ConsumerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly List<string> _lines = [];

    private ConsumerProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
    }

    public static string AssemblyPath
    {
        get
        {
            var configuration = typeof(ConsumerProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot.Path, "src", "OrderPlatform.Projections", "bin", configuration, "net10.0", "OrderPlatform.Projections.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the solution first.", path);
        }
    }

    public static ConsumerProcess Start(string connectionString, string bootstrapServers, string schema, string groupId, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ConnectionStrings__Postgres"] = connectionString;
        start.Environment["Kafka__BootstrapServers"] = bootstrapServers;
        start.Environment["Consumer__Schema"] = schema;
        start.Environment["Consumer__GroupId"] = groupId;
        start.Environment["Consumer__RetryDelay"] = "00:00:00.050";
        start.Environment["Consumer__SessionTimeout"] = "00:00:03";
        start.Environment["Logging__LogLevel__Default"] = "Information";

        var directory = Path.Combine(RepositoryRoot.Path, "TestResults", "silo-logs");
        Directory.CreateDirectory(directory);
        var log = new StreamWriter(Path.Combine(directory, $"consumer-{schema}-{DateTime.UtcNow:HHmmssfff}.log")) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the consumer.");
        var consumer = new ConsumerProcess(process, log);
        process.OutputDataReceived += (_, e) => consumer.Record(e.Data);
        process.ErrorDataReceived += (_, e) => consumer.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return consumer;
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
            _log.WriteLine(line);
        }
    }

    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    /// <summary>Waits for the process to exit by itself (a rebuild) and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"The consumer did not exit within {timeout}. Output:\n{Output}");
        }

        return _process.ExitCode;
    }

    public void Kill() => ProcessControl.Kill(_process);

    public async ValueTask DisposeAsync()
    {
        await ProcessControl.StopAsync(_process);

        _process.Dispose();
        await _log.DisposeAsync();
    }
}
