using System.Net;
using System.Net.Sockets;
using OrderPlatform.Processes;

namespace OrderPlatform.IntegrationTests;

/// <summary>
/// <see cref="LoopbackPorts"/>: a port is handed out once, however often the draw repeats it, and a port in use is
/// never handed out. A chaos run once drew the same port for one silo's HTTP endpoint and another's silo port, and the
/// second silo to bind it could not start.
/// </summary>
public sealed class LoopbackPortsTests
{
    [Fact]
    public void Every_port_of_a_small_range_is_handed_out_once_and_then_none()
    {
        var from = FreeRange(3);
        using var ports = new LoopbackPorts(new Random(31962843), from, from + 3);

        // This seed draws the first of the three numbers three times over before any other; each port still comes once.
        var drawn = new[] { ports.Next(), ports.Next(), ports.Next() };

        Assert.Equal([from, from + 1, from + 2], drawn.Order());
        var refused = Assert.Throws<InvalidOperationException>(() => ports.Next());
        Assert.Equal($"No free loopback port left between {from} and {from + 2} that was not handed out already.", refused.Message);
    }

    [Fact]
    public void A_port_in_use_is_never_handed_out()
    {
        var from = FreeRange(2);
        using var holder = new TcpListener(IPAddress.Loopback, from);
        holder.Start();
        using var ports = new LoopbackPorts(new Random(7), from, from + 2);

        Assert.Equal(from + 1, ports.Next());
        Assert.Throws<InvalidOperationException>(() => ports.Next());
    }

    [Fact]
    public void Two_pickers_as_in_two_processes_never_hand_out_the_same_port_until_one_gives_its_claims_back()
    {
        var from = FreeRange(3);
        using var first = new LoopbackPorts(new Random(31962843), from, from + 3);
        using var second = new LoopbackPorts(new Random(31962843), from, from + 3);

        // The same seed draws the same numbers in the same order; each picker still gets ports the other has not.
        var drawn = new[] { first.Next(), second.Next(), first.Next() };

        Assert.Equal([from, from + 1, from + 2], drawn.Order());
        Assert.Throws<InvalidOperationException>(() => second.Next());

        // The second's port is free again for others once it gives its claim back.
        second.Dispose();
        Assert.Equal(drawn[1], first.Next());
    }

    [Fact]
    public void Ports_of_the_whole_range_differ_and_lie_below_the_ephemeral_ports()
    {
        using var ports = new LoopbackPorts(new Random(1));

        var drawn = Enumerable.Range(0, 300).Select(_ => ports.Next()).ToList();

        Assert.Equal(drawn.Count, drawn.Distinct().Count());
        Assert.All(drawn, port => Assert.InRange(port, 20_000, 31_999));
    }

    /// <summary>The first of <paramref name="count"/> consecutive ports, from 31,990 down (below the ephemeral ports), that are free now.</summary>
    private static int FreeRange(int count)
    {
        for (var from = 31_990; from > 20_000; from -= count)
        {
            if (Enumerable.Range(from, count).All(LoopbackPorts.IsFree))
            {
                return from;
            }
        }

        throw new InvalidOperationException("No free range of loopback ports.");
    }
}
