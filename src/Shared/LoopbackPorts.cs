using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace OrderPlatform.Processes;

/// <summary>
/// Loopback ports for processes about to be started, each drawn at random from a range below Linux's ephemeral ports
/// (32768 and up, where outgoing connections take theirs), checked free by binding it, and handed out once: a port is
/// released as soon as it is checked, and the process meant to bind it does so seconds later, so two draws could
/// otherwise name the same port and the second process to bind it would fail to start. Once within this instance, and
/// once across processes on the machine: each port handed out is claimed with an exclusive lock on a file named after
/// it (in the temporary directory's <c>orderplatform-ports</c>), held until this instance is disposed or its process
/// ends, so that test processes running side by side draw different ports. Compiled into each program that starts
/// processes on ports it picks (a linked source file): the chaos runner and the test fixtures.
/// </summary>
public sealed class LoopbackPorts(Random random, int from = 20_000, int to = 32_000) : IDisposable
{
    private static readonly string ClaimDirectory = Path.Combine(Path.GetTempPath(), "orderplatform-ports");

    private readonly HashSet<int> _handedOut = [];
    private readonly List<FileStream> _claims = [];

    /// <summary>A port free now, not handed out before by this instance, and not claimed by another.</summary>
    /// <exception cref="InvalidOperationException">No such port was found in the range.</exception>
    public int Next()
    {
        lock (_handedOut)
        {
            // Enough draws to find the last free port of a small range; a large one ends far sooner.
            for (var attempt = 0; attempt < 20 * (to - from); attempt++)
            {
                var port = random.Next(from, to);
                if (_handedOut.Contains(port) || !IsFree(port) || !TryClaim(port))
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

    /// <summary>Gives the claims of the ports handed out back, for other processes to draw them.</summary>
    public void Dispose()
    {
        lock (_handedOut)
        {
            foreach (var claim in _claims)
            {
                claim.Dispose();
            }

            _claims.Clear();
        }
    }

    // .NET takes an exclusive advisory lock (flock) on a file opened without sharing; another open of it, from any
    // process, fails until the first is closed, which its process's end does too.
    private bool TryClaim(int port)
    {
        try
        {
            Directory.CreateDirectory(ClaimDirectory);
            _claims.Add(new FileStream(Path.Combine(ClaimDirectory, port.ToString(CultureInfo.InvariantCulture)), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
