using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>Reading a silo's CPU time and memory from /proc.</summary>
public sealed class ProcessStatsTests
{
    [Fact]
    public void Cpu_time_is_utime_plus_stime_in_clock_ticks_counted_after_the_command_name()
    {
        // A command name with spaces and a parenthesis, as /proc shows it; utime 1234 and stime 566 ticks.
        const string stat = "4242 (dotnet (silo) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 30 0 1000 274231480 73062 18446744073709551615";

        Assert.Equal(TimeSpan.FromSeconds(18), ProcessStats.ParseCpuTime(stat));
        Assert.Null(ProcessStats.ParseCpuTime("4242 (dotnet) S 1 2"));
    }

    [Fact]
    public void Resident_memory_is_vm_rss()
    {
        const string status = "Name:\tdotnet\nVmPeak:\t 9000 kB\nVmRSS:\t  292248 kB\nThreads:\t30\n";

        Assert.Equal(292_248L * 1024, ProcessStats.ParseResidentBytes(status));
        Assert.Null(ProcessStats.ParseResidentBytes("Name:\tdotnet\n"));
    }

    [Fact]
    public void This_process_can_be_watched()
    {
        Assert.True(ProcessStats.CpuTime(Environment.ProcessId) > TimeSpan.Zero);
        Assert.True(ProcessStats.ResidentBytes(Environment.ProcessId) > 1024 * 1024);
    }
}
