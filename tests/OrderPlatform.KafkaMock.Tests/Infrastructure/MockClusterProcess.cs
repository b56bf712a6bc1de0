using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace OrderPlatform.KafkaMock.Tests.Infrastructure;

/// <summary>
/// The mock cluster command as its own process, started from the KafkaMock project's build output exactly as
/// a developer or a silo test would run it: <c>dotnet OrderPlatform.KafkaMock.dll …</c>.
/// </summary>
internal sealed class MockClusterProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr;

    private MockClusterProcess(Process process, StringBuilder stderr, string bootstrapServers)
    {
        _process = process;
        _stderr = stderr;
        BootstrapServers = bootstrapServers;
    }

    public string BootstrapServers { get; }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string AssemblyPath
    {
        get
        {
            var configuration = typeof(MockClusterProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
            var path = Path.Combine(RepositoryRoot, "src", "OrderPlatform.KafkaMock", "bin", configuration, "net10.0", "OrderPlatform.KafkaMock.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build src/OrderPlatform.KafkaMock first.", path);
        }
    }

    private static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "OrderPlatform.sln")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("Could not find the repository root (OrderPlatform.sln) above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Starts the command and waits for its <c>bootstrap.servers=</c> line.</summary>
    public static async Task<MockClusterProcess> StartAsync(params string[] args)
    {
        var process = Start(args);
        var stderr = new StringBuilder();
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();

        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync().WaitAsync(Clients.Generous);
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw new TimeoutException($"Waited {Clients.Generous.TotalSeconds} s for the bootstrap line of the mock cluster command; stderr: {stderr}");
        }

        const string prefix = "bootstrap.servers=";
        if (line is null || !line.StartsWith(prefix, StringComparison.Ordinal))
        {
            await process.WaitForExitAsync().WaitAsync(Clients.Generous);
            throw new InvalidOperationException($"The mock cluster command printed '{line}' instead of its bootstrap line and exited with {process.ExitCode}; stderr: {stderr}");
        }

        return new MockClusterProcess(process, stderr, line[prefix.Length..]);
    }

    /// <summary>Runs the command to its end, for arguments it should refuse.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunToExitAsync(params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await Eventually.CompletesAsync(process.WaitForExitAsync(), Clients.Generous, $"the mock cluster command with '{string.Join(' ', args)}' to exit");
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>SIGTERM, as a process supervisor stops it; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await Eventually.CompletesAsync(_process.WaitForExitAsync(), Clients.Generous, "the mock cluster command to exit after SIGTERM");
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static Process Start(string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(AssemblyPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("Could not start dotnet.");
    }
}
