using System.Diagnostics;
using OrderPlatform.LoadGen.Server;

namespace OrderPlatform.LoadGen.Tests;

/// <summary>Reading CPU time and memory from /proc: a silo's, PostgreSQL's with its backends', the machine's.</summary>
public sealed class ProcessStatsTests
{
    [Fact]
    public void Cpu_time_is_utime_plus_stime_in_clock_ticks_counted_after_the_command_name()
    {
        // A command name with spaces and a parenthesis, as /proc shows it; utime 1234 and stime 566 ticks.
        const string stat = "4242 (dotnet (silo) 1) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 566 0 0 20 0 30 0 1000 274231480 73062 18446744073709551615";

        Assert.Equal(TimeSpan.FromSeconds(18), ProcessStats.ParseStat(stat)?.Cpu);
        Assert.Null(ProcessStats.ParseStat("4242 (dotnet) S 1 2"));
    }

    [Fact]
    public void The_parent_is_field_4_and_the_reaped_childrens_time_fields_16_and_17()
    {
        // A name that fools a parser stopping at the first ')' into ppid 99; ppid 4000, utime 250, stime 50, cutime 1200, cstime 345.
        const string stat = "4711 (x) S 99 (y) S 4000 4711 4711 0 -1 4194304 5000 800 0 0 250 50 1200 345 20 0 1 0 107948 3133440 359 18446744073709551615";

        Assert.Equal(new ProcessTimes(4000, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(15_450)), ProcessStats.ParseStat(stat));
        Assert.Equal(
            new ProcessTimes(1, TimeSpan.Zero, TimeSpan.FromSeconds(7)),
            ProcessStats.ParseStat("1 (postgres) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 600 100"));
        Assert.Null(ProcessStats.ParseStat("4711 (postgres) S 4000 4711 4711 0 -1 4194304 5000 800 0 0 250 50 1200"));
        Assert.Null(ProcessStats.ParseStat("4711 (postgres) S 4000 4711 4711 0 -1 4194304 5000 800 0 0 250 50 1200 -345"));
        Assert.Null(ProcessStats.ParseStat("4711 (postgres) S ? 4711 4711 0 -1 4194304 5000 800 0 0 250 50 1200 345"));
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

    [Fact]
    public void A_process_tree_counts_its_live_children()
    {
        var own = ProcessStats.CpuTime(Environment.ProcessId);
        Assert.True(ProcessStats.TreeCpuTime(Environment.ProcessId) >= own, "this process's tree has less CPU than the process");

        // This test host is a live child of the process that started it: the parent's tree has the parent's own time and this one's.
        var parentPid = Times(Environment.ProcessId).ParentPid;
        var parent = Times(parentPid);
        var tree = ProcessStats.TreeCpuTime(parentPid);

        Assert.True(tree >= parent.Cpu + parent.ReapedChildrenCpu + own, $"the tree of {parentPid}: {tree}; itself {parent}, this process {own}");
    }

    [Fact]
    public async Task A_childs_time_moves_into_the_parents_reaped_time_when_it_is_reaped()
    {
        var before = Times(Environment.ProcessId);

        // A shell spinning until it has used 0.2 s of CPU (20 ticks), then printing its own stat line.
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""while read -r line < /proc/$$/stat; set -- $line; [ $(( ${14} + ${15} )) -lt 20 ]; do :; done; echo "$line" """);
        using var child = Process.Start(start)!;
        var line = await child.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await child.WaitForExitAsync(timeout.Token);

        var last = ProcessStats.ParseStat(line);
        var after = Times(Environment.ProcessId);
        Assert.Equal(Environment.ProcessId, last?.ParentPid);
        Assert.True(last?.Cpu >= TimeSpan.FromSeconds(0.2), line);
        Assert.True(after.ReapedChildrenCpu - before.ReapedChildrenCpu >= last?.Cpu, $"reaped children's time {before.ReapedChildrenCpu} -> {after.ReapedChildrenCpu}; the child's {last?.Cpu}");
        Assert.True(ProcessStats.TreeCpuTime(Environment.ProcessId) >= before.Cpu + before.ReapedChildrenCpu + last?.Cpu, "the tree lost the reaped child's time");
    }

    [Fact]
    public void Machine_cpu_is_the_first_eight_fields_of_the_cpu_line_idle_with_iowait()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice: guest time is already in user.
        const string stat = "cpu  89098 3 18856 100879 1184 0 2929 607 500 0\ncpu0 44401 0 9144 51398 316 0 1250 305 250 0\nintr 1 2 3\n";

        Assert.Equal(new MachineCpu(213_556, 102_063), MachineCpu.Parse(stat));
        Assert.Null(MachineCpu.Parse("cpu0 44401 0 9144 51398 316 0 1250 305 250 0\n"));
        Assert.Null(MachineCpu.Parse("cpu  89098 3 18856 100879 1184 0 2929\n"));
        Assert.Null(MachineCpu.Parse("cpu  89098 3 18856 x 1184 0 2929 607 500 0\n"));
    }

    [Theory]
    [InlineData(1000, 600, 1400, 700, 75.0)]
    [InlineData(1000, 600, 1400, 1000, 0.0)]
    [InlineData(1000, 600, 1003, 601, 66.7)]
    [InlineData(1000, 600, 1000, 600, null)]
    public void The_box_is_busy_for_the_share_of_ticks_that_were_not_idle(long total0, long idle0, long total1, long idle1, double? busy)
    {
        Assert.Equal(busy, MachineCpu.BusyPercent(new MachineCpu(total0, idle0), new MachineCpu(total1, idle1)));
        Assert.Null(MachineCpu.BusyPercent(null, new MachineCpu(total1, idle1)));
    }

    [Fact]
    public void The_machine_is_busy_while_this_process_spins()
    {
        var start = MachineCpu.Read();
        var own = ProcessStats.CpuTime(Environment.ProcessId);
        while (ProcessStats.CpuTime(Environment.ProcessId) - own < TimeSpan.FromSeconds(0.1))
        {
            // Spin: these ticks are the machine's busy ones.
        }

        Assert.InRange(MachineCpu.BusyPercent(start, MachineCpu.Read()) ?? -1, 0.1, 100);
    }

    private static ProcessTimes Times(int pid) =>
        ProcessStats.ParseStat(File.ReadAllText($"/proc/{pid}/stat")) ?? throw new InvalidOperationException($"/proc/{pid}/stat does not parse.");
}
