using System.Diagnostics;
using System.Globalization;

namespace OrderPlatform.Chaos;

/// <summary>A child process that can be SIGKILLed and started again with the same arguments and environment.</summary>
public sealed class ManagedProcess(string name, string dll, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment, string logPath) : IDisposable
{
    // One start's process, and whether the runner ended it: the two are swapped together, so a look at them never
    // pairs one start's process with another's mark.
    private sealed class Started(Process process)
    {
        public Process Process => process;

        public volatile bool EndedByRunner;
    }

    private const string StartMarker = "---- ";

    private Started? _started;
    private StreamWriter? _log;

    public string Name => name;

    public bool IsRunning => _started is { Process.HasExited: false };

    /// <summary>
    /// The exit code of the last start's process when it exited without the runner killing or stopping it (a crash,
    /// or a refused setting); null while it runs, and when the runner ended it.
    /// </summary>
    public int? UnexpectedExitCode => _started is { Process.HasExited: true, EndedByRunner: false } started ? started.Process.ExitCode : null;

    public string LogPath => logPath;

    /// <summary>
    /// The last lines the process wrote since its latest start, without stack frames, each cut to a screen's width: what
    /// a process that exited on its own said last (a refused setting, an unhandled exception, a runtime's fail-fast).
    /// Waits for the exited process's output to be written to the log first.
    /// </summary>
    public IReadOnlyList<string> LastWords(int count)
    {
        if (_started is { Process.HasExited: true } started)
        {
            // After an exit, this waits for the redirected output to be read to its end.
            started.Process.WaitForExit();
        }

        if (_log is null)
        {
            return [];
        }

        string[] lines;
        lock (_log)
        {
            using var reader = new StreamReader(new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            lines = reader.ReadToEnd().Split('\n');
        }

        var start = Array.FindLastIndex(lines, line => line.StartsWith(StartMarker, StringComparison.Ordinal)) + 1;
        return lines[start..]
            .Select(line => line.TrimEnd())
            .Where(line => line.Length > 0 && !line.TrimStart().StartsWith("at ", StringComparison.Ordinal))
            .TakeLast(count)
            .Select(line => line.Length <= 240 ? line : line[..240] + "...")
            .ToList();
    }

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
        log.WriteLine($"{StartMarker}{DateTime.UtcNow:O} starting {name}");
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {name}.");
        _started = new Started(process);
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
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

    /// <summary>SIGSTOP: the process stays, none of its threads runs until <see cref="Resume"/>. False when it was not running.</summary>
    public bool Pause() => _started is { Process.HasExited: false } started && Signal("-STOP", started.Process.Id);

    /// <summary>SIGCONT: a paused process runs on.</summary>
    public void Resume()
    {
        if (_started is { Process.HasExited: false } started)
        {
            Signal("-CONT", started.Process.Id);
        }
    }

    private static bool Signal(string signal, int pid)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)]);
        return kill is not null && kill.WaitForExit(5_000) && kill.ExitCode == 0;
    }

    /// <summary>SIGKILL, like kill -9: no shutdown hooks run.</summary>
    public void Kill()
    {
        if (_started is { Process.HasExited: false } started)
        {
            started.EndedByRunner = true;
            started.Process.Kill(entireProcessTree: true);
            started.Process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM and a bounded wait, then SIGKILL.</summary>
    public void Stop()
    {
        if (_started is { Process.HasExited: false } started)
        {
            started.EndedByRunner = true;
            Signal("-TERM", started.Process.Id);
            if (!started.Process.WaitForExit(20_000))
            {
                Kill();
            }
        }
    }

    public void Dispose()
    {
        Stop();
        _started?.Process.Dispose();
        _log?.Dispose();
    }
}
