using System.Globalization;

namespace OrderPlatform.LoadGen.Server;

/// <summary>The machine's CPU time since boot, every core together, in clock ticks: the first ("cpu") line of /proc/stat.</summary>
internal readonly record struct MachineCpu(long Total, long Idle)
{
    /// <summary>Null when this is not Linux.</summary>
    public static MachineCpu? Read() => ProcessStats.Read("/proc/stat") is { } stat ? Parse(stat) : null;

    /// <summary>
    /// The line reads "cpu user nice system idle iowait irq softirq steal guest guest_nice": the total is the first
    /// eight (guest time is already in user and nice), idle is idle plus iowait.
    /// </summary>
    internal static MachineCpu? Parse(string stat)
    {
        var fields = stat.Split('\n', 2)[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 9 || fields[0] != "cpu")
        {
            return null;
        }

        var ticks = new long[8];
        for (var i = 0; i < ticks.Length; i++)
        {
            if (!long.TryParse(fields[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out ticks[i]))
            {
                return null;
            }
        }

        return new MachineCpu(ticks.Sum(), ticks[3] + ticks[4]);
    }

    /// <summary>The share of the time between two readings the cores were busy, 100 × (1 − idle / total); null when no tick passed.</summary>
    public static double? BusyPercent(MachineCpu? start, MachineCpu? end) =>
        start is { } s && end is { } e && e.Total > s.Total ? Math.Round(100 * (1 - ((double)(e.Idle - s.Idle) / (e.Total - s.Total))), 1) : null;
}
