using System.Diagnostics;
using System.Globalization;

namespace OrderPlatform.Chaos;

/// <summary>A child process that can be SIGKILLed and started again with the same arguments and environment.</summary>
public sealed class ManagedProcess(string name, string dll, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string logPath) : IDisposable
{
    private Process? _process;
    private StreamWriter? _log;

    public string Name => name;

    public bool IsRunning => _process is { HasExited: false };

    public void Start()
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        _log ??= new StreamWriter(logPath, append: true) { AutoFlush = true };
        var log = _log;
        log.WriteLine($"---- {DateTime.UtcNow:O} starting {name}");
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}.");
        _process.OutputDataReceived += (_, e) => Write(log, e.Data);
        _process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    /// <summary>SIGKILL, like kill -9: no shutdown hooks run.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM and a bounded wait, then SIGKILL.</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit(5_000);
            if (!_process.WaitForExit(20_000))
            {
                Kill();
            }
        }
    }

    public void Dispose()
    {
        Stop();
        _process?.Dispose();
        _log?.Dispose();
    }
}
