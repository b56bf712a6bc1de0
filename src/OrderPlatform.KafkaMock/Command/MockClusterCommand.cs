using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace OrderPlatform.KafkaMock.Command;

/// <summary>
/// Runs a <see cref="MockKafkaCluster"/> as its own process, so silos in other processes and tools like kcat
/// can share it. stdout carries only the bootstrap line; everything for people goes to stderr.
/// </summary>
internal static class MockClusterCommand
{
    internal const int Stopped = 0;
    internal const int Failed = 1;
    internal const int BadArguments = 2;

    internal static int Run(string[] args)
    {
        if (!CommandLine.TryParse(args, out var commandLine, out var error))
        {
            Console.Error.WriteLine(error);
            Console.Error.WriteLine("Run with --help for usage.");
            return BadArguments;
        }

        if (commandLine.ShowHelp)
        {
            Console.Out.WriteLine(CommandLine.Usage);
            return Stopped;
        }

        // Registered before the cluster starts, so a signal that arrives during start-up is not lost; cancelling
        // the default action keeps the process alive to free the cluster and remove the bootstrap file.
        using var stop = new ManualResetEventSlim();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);

        try
        {
            using var cluster = MockKafkaCluster.Create(commandLine.Brokers);
            foreach (var topic in commandLine.Topics)
            {
                cluster.CreateTopic(topic.Name, topic.Partitions, topic.ReplicationFactor);
            }

            if (commandLine.BootstrapFile is { } path)
            {
                WriteAtomically(path, cluster.BootstrapServers);
            }

            try
            {
                Console.Out.WriteLine($"bootstrap.servers={cluster.BootstrapServers}");
                Console.Out.Flush();
                Console.Error.WriteLine(
                    $"{cluster} running on librdkafka {MockKafkaCluster.NativeLibraryVersion} ({MockKafkaCluster.NativeLibraryPath}); " +
                    $"topics: {(commandLine.Topics.Count == 0 ? "created on first use" : string.Join(", ", commandLine.Topics.Select(t => $"{t.Name} ({t.Partitions})")))}. " +
                    "Stop with SIGTERM or Ctrl+C.");

                stop.Wait();
            }
            finally
            {
                if (commandLine.BootstrapFile is { } written)
                {
                    // A stale list would send the next reader to ports nobody listens on.
                    File.Delete(written);
                }
            }

            return Stopped;
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException or DllNotFoundException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"The mock Kafka cluster failed: {e.Message}");
            return Failed;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Set();
        }
    }

    private static void WriteAtomically(string path, string content)
    {
        var full = Path.GetFullPath(path);
        var temporary = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllText(temporary, content);

            // rename(2) within one directory: a reader sees no file or the whole list, never a part of it.
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
