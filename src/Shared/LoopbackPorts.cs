using System.Net;
using System.Net.Sockets;

namespace OrderPlatform.Processes;

/// <summary>
/// Loopback ports for processes about to be started, each drawn at random from a range below Linux's ephemeral ports
/// (32768 and up, where outgoing connections take theirs), checked free by binding it, and never handed out twice by
/// the same instance: a port is released as soon as it is checked, so two draws could otherwise name the same one, and
/// the second process to bind it would fail to start. Compiled into each program that starts processes on ports it
/// picks (a linked source file): the chaos runner and the test fixtures.
/// </summary>
public sealed class LoopbackPorts(Random random, int from = 20_000, int to = 32_000)
{
    private readonly HashSet<int> _handedOut = [];

    /// <summary>A port free now and not handed out before by this instance.</summary>
    /// <exception cref="InvalidOperationException">No such port was found in the range.</exception>
    public int Next()
    {
        lock (_handedOut)
        {
            // Enough draws to find the last free port of a small range; a large one ends far sooner.
            for (var attempt = 0; attempt < 20 * (to - from); attempt++)
            {
                var port = random.Next(from, to);
                if (_handedOut.Contains(port) || !IsFree(port))
                {
                    continue;
                }

                _handedOut.Add(port);
                return port;
            }
        }

        throw new InvalidOperationException($"No free loopback port left between {from} and {to - 1} that was not handed out already.");
    }

    /// <summary>Whether a listener could bind the loopback port now.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
