using System.Diagnostics;
using System.Globalization;

namespace OrderPlatform.Testing;

/// <summary>How tests end the processes they start: SIGKILL like kill -9, SIGTERM with a bounded wait, or a run to its end.</summary>
public static class ProcessControl
{
    /// <summary>
    /// Starts <paramref name="start"/> (its output and errors redirected) and waits for it to exit; returns its exit code,
    /// output and errors. A process still running after <paramref name="timeout"/> is killed, and a
    /// <see cref="TimeoutException"/> naming <paramref name="what"/> carries what it wrote.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunToExitAsync(ProcessStartInfo start, string what, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(start);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {what}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw new TimeoutException($"{what} did not exit within {timeout}: {await output}{await errors}");
        }

        return (process.ExitCode, await output, await errors);
    }

    /// <summary>SIGKILL: no shutdown, no cleanup.</summary>
    public static void Kill(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM, so a silo leaves the cluster and a consumer its group; SIGKILL after 15 s.</summary>
    public static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)])?.WaitForExit(5_000);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
        }
    }
}
