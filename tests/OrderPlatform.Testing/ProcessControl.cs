using System.Diagnostics;
using System.Globalization;

namespace OrderPlatform.Testing;

/// <summary>How tests end the processes they start: SIGKILL like kill -9, or SIGTERM with a bounded wait.</summary>
public static class ProcessControl
{
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
