using System.Globalization;

namespace OrderPlatform.LoadGen.Server;

/// <summary>CPU time and resident memory of a process on Linux, from /proc.</summary>
internal static class ProcessStats
{
    /// <summary>The kernel's clock ticks per second for /proc times (USER_HZ), 100 on every Linux build that matters.</summary>
    private const long ClockTicksPerSecond = 100;

    /// <summary>User plus system CPU time the process has used; null when the process is gone or this is not Linux.</summary>
    public static TimeSpan? CpuTime(int pid) => Times(pid)?.Cpu;

    /// <summary>
    /// CPU time of a process with its children's, as PostgreSQL's postmaster and its backends: its own, its children's
    /// that exited and were reaped (cutime and cstime), and its live children's. Backends come and go during a window,
    /// and the sum stays right: the kernel adds a child's time to the parent's cutime and cstime when it reaps the
    /// child, the moment the child leaves /proc, so its time moves from one term to the other. A child that exited and
    /// is not reaped yet is still in /proc with its parent. Null when the process is gone or this is not Linux.
    /// </summary>
    public static TimeSpan? TreeCpuTime(int pid)
    {
        for (var attempt = 1; ; attempt++)
        {
            if (Times(pid) is not { } before)
            {
                return null;
            }

            var children = TimeSpan.Zero;
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var child)
                    && Times(child) is { } times && times.ParentPid == pid)
                {
                    children += times.Cpu;
                }
            }

            if (Times(pid) is not { } after)
            {
                return null;
            }

            // A child reaped during the scan may have been counted twice or not at all: then scan again.
            if (after.ReapedChildrenCpu == before.ReapedChildrenCpu || attempt == 3)
            {
                return after.Cpu + after.ReapedChildrenCpu + children;
            }
        }
    }

    /// <summary>Resident set size in bytes; null when the process is gone or this is not Linux.</summary>
    public static long? ResidentBytes(int pid)
    {
        var status = Read($"/proc/{pid}/status");
        return status is null ? null : ParseResidentBytes(status);
    }

    /// <summary>
    /// Fields 4 (ppid), 14 and 15 (utime, stime) and 16 and 17 (cutime, cstime: children that exited and were waited
    /// for) of /proc/PID/stat, counted after the command name, which may hold spaces and parentheses.
    /// </summary>
    internal static ProcessTimes? ParseStat(string stat)
    {
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            return null;
        }

        // After the name, field 3 (state) is fields[0]: field n is fields[n - 3].
        var fields = stat[(end + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 15
            && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            && Ticks(fields[11]) is { } user && Ticks(fields[12]) is { } system
            && Ticks(fields[13]) is { } childrenUser && Ticks(fields[14]) is { } childrenSystem
            ? new ProcessTimes(parent, user + system, childrenUser + childrenSystem)
            : null;

        static TimeSpan? Ticks(string field) =>
            long.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? TimeSpan.FromTicks(ticks * (TimeSpan.TicksPerSecond / ClockTicksPerSecond)) : null;
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

    internal static string? Read(string path)
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

    private static ProcessTimes? Times(int pid) => Read($"/proc/{pid}/stat") is { } stat ? ParseStat(stat) : null;
}

/// <summary>What /proc/PID/stat says of a process's CPU: its parent, its own time, and that of its reaped children.</summary>
internal readonly record struct ProcessTimes(int ParentPid, TimeSpan Cpu, TimeSpan ReapedChildrenCpu);
