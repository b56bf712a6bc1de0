using System.Globalization;

namespace OrderPlatform.LoadGen.Server;

/// <summary>CPU time and resident memory of a process on Linux, from /proc.</summary>
internal static class ProcessStats
{
    /// <summary>The kernel's clock ticks per second for /proc times (USER_HZ), 100 on every Linux build that matters.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>User plus system CPU time the process has used; null when the process is gone or this is not Linux.</summary>
    public static TimeSpan? CpuTime(int pid)
    {
        var stat = Read($"/proc/{pid}/stat");
        return stat is null ? null : ParseCpuTime(stat);
    }

    /// <summary>Resident set size in bytes; null when the process is gone or this is not Linux.</summary>
    public static long? ResidentBytes(int pid)
    {
        var status = Read($"/proc/{pid}/status");
        return status is null ? null : ParseResidentBytes(status);
    }

    /// <summary>Fields 14 and 15 (utime, stime) of /proc/PID/stat, counted after the command name, which may hold spaces.</summary>
    internal static TimeSpan? ParseCpuTime(string stat)
    {
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            return null;
        }

        var fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);

        // After the name, field 3 (state) is fields[0]: utime (14) and stime (15) are fields[11] and fields[12].
        if (fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out var user)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out var system))
        {
            return null;
        }

        return TimeSpan.FromSeconds((user + system) / TicksPerSecond);
    }

    internal static long? ParseResidentBytes(string status)
    {
        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var parts = line["VmRSS:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
                return parts.Length == 2 && parts[1] == "kB" && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb) ? kb * 1024 : null;
            }
        }

        return null;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
