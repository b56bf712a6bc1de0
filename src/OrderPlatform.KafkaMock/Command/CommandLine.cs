using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace OrderPlatform.KafkaMock.Command;

internal sealed record TopicSpec(string Name, int Partitions, int ReplicationFactor);

/// <summary>The arguments of the mock cluster command, checked before anything starts.</summary>
internal sealed record CommandLine(int Brokers, IReadOnlyList<TopicSpec> Topics, string? BootstrapFile, bool ShowHelp)
{
    internal const int MaxBrokers = 64;
    internal const int MaxPartitions = 10_000;

    internal const string Usage =
        """
        Usage: dotnet OrderPlatform.KafkaMock.dll [--brokers N] [--topic NAME:PARTITIONS[:REPLICATION]]... [--bootstrap-file PATH]

        Runs librdkafka's mock Kafka cluster on 127.0.0.1 until SIGTERM or SIGINT, for tests and local runs.
        Prints "bootstrap.servers=<list>" on stdout once the brokers listen.

          --brokers N            number of brokers, 1 to 64 (default 3); broker ids are 1..N
          --topic NAME:P[:R]     create a topic with P partitions and replication factor R (default 1); repeatable.
                                 Other topics are created on first use with 4 partitions.
          --bootstrap-file PATH  also write the bootstrap list to PATH (atomically, no newline); removed on exit
          -h, --help             show this text

        Exit codes: 0 stopped by a signal, 1 the cluster failed, 2 bad arguments.
        """;

    internal static bool TryParse(IReadOnlyList<string> args, out CommandLine parsed, out string error)
    {
        parsed = new CommandLine(3, [], null, ShowHelp: false);
        var brokers = 3;
        var topics = new List<TopicSpec>();
        string? bootstrapFile = null;

        for (var i = 0; i < args.Count; i++)
        {
            var (option, inlineValue) = SplitOption(args[i]);
            if (option is "-h" or "--help")
            {
                parsed = parsed with { ShowHelp = true };
                error = "";
                return true;
            }

            if (option is not ("--brokers" or "--topic" or "--bootstrap-file"))
            {
                error = $"Unknown argument '{args[i]}'.";
                return false;
            }

            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                error = $"{option} needs a value.";
                return false;
            }

            if (option == "--brokers")
            {
                if (!TryParseCount(value, MaxBrokers, out brokers))
                {
                    error = $"--brokers takes a number from 1 to {MaxBrokers}, not '{value}'.";
                    return false;
                }
            }
            else if (option == "--topic")
            {
                if (!TryParseTopic(value, out var topic, out error))
                {
                    return false;
                }

                if (topics.Any(t => t.Name == topic.Name))
                {
                    error = $"Topic '{topic.Name}' is given twice.";
                    return false;
                }

                topics.Add(topic);
            }
            else
            {
                var directory = value.Length == 0 ? null : Path.GetDirectoryName(Path.GetFullPath(value));
                if (bootstrapFile is not null)
                {
                    error = "--bootstrap-file is given twice.";
                    return false;
                }

                if (directory is null || value.EndsWith('/') || !Directory.Exists(directory))
                {
                    error = $"--bootstrap-file '{value}' is not a file in an existing directory.";
                    return false;
                }

                bootstrapFile = value;
            }
        }

        if (topics.FirstOrDefault(t => t.ReplicationFactor > brokers) is { } tooReplicated)
        {
            error = $"Topic '{tooReplicated.Name}' wants replication factor {tooReplicated.ReplicationFactor}, but there are only {brokers} broker(s).";
            return false;
        }

        parsed = new CommandLine(brokers, topics, bootstrapFile, ShowHelp: false);
        error = "";
        return true;
    }

    private static (string Option, string? Value) SplitOption(string arg)
    {
        var equals = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOf('=', StringComparison.Ordinal) : -1;
        return equals < 0 ? (arg, null) : (arg[..equals], arg[(equals + 1)..]);
    }

    private static bool TryParseTopic(string value, [NotNullWhen(true)] out TopicSpec? topic, out string error)
    {
        topic = null;
        var parts = value.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0)
        {
            error = $"--topic takes NAME:PARTITIONS[:REPLICATION], not '{value}'.";
            return false;
        }

        if (!MockKafkaCluster.IsValidTopicName(parts[0]))
        {
            error = $"'{parts[0]}' is not a Kafka topic name (up to 249 ASCII letters, digits, '.', '_' and '-').";
            return false;
        }

        if (!TryParseCount(parts[1], MaxPartitions, out var partitions))
        {
            error = $"Topic '{parts[0]}' needs 1 to {MaxPartitions} partitions, not '{parts[1]}'.";
            return false;
        }

        var replicationFactor = 1;
        if (parts.Length == 3 && !TryParseCount(parts[2], MaxBrokers, out replicationFactor))
        {
            error = $"Topic '{parts[0]}' needs a replication factor from 1 to the number of brokers, not '{parts[2]}'.";
            return false;
        }

        topic = new TopicSpec(parts[0], partitions, replicationFactor);
        error = "";
        return true;
    }

    private static bool TryParseCount(string value, int max, out int count) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out count) && count >= 1 && count <= max;
}
